import { task } from 'capsule';

export const main = task({ name: 'main', compute: 'LOW', ram: '64MB' }, (input: { name: string }) => ({ greeting: `Hello, ${input.name}!` }));
