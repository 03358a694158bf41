import { task } from 'capsule';

/** Runs in a fresh sandbox: no files, no network, at most LOW fuel and 64 MB. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, (input: { name?: string } = {}) => {
  return { greeting: `Hello, ${input.name ?? 'world'}!` };
});
