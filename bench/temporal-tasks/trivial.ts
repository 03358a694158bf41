import { task } from 'capsule';

/** The cheapest useful step: add one. Measures orchestration + sandbox overhead, not work. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '30s' }, async (input: { n: number }) => ({ n: (input?.n ?? 0) + 1 }));
