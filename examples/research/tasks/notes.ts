import { existsSync, readFileSync, writeFileSync } from 'fs';
import { task } from 'capsule';

/**
 * Stands in for a flaky external service: fails on two calls out of three (the call count is kept in
 * ./examples/research/state), so with maxRetries 2 it succeeds on its third attempt and the history shows why.
 */
export const main = task(
  { name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s', maxRetries: 2, allowedFiles: [{ path: './examples/research/state', mode: 'read-write' }] },
  async (input: { topic: string }) => {
    const file = './examples/research/state/notes-calls';
    const calls = (existsSync(file) ? Number(readFileSync(file, 'utf8')) || 0 : 0) + 1;
    writeFileSync(file, String(calls));
    if (calls % 3 !== 0) throw new Error(`notes service unavailable (call ${calls}); try again`);
    return { topic: input.topic, note: `Editor's note on ${input.topic}: keep untrusted code in fresh sandboxes and let Temporal own retries.` };
  },
);
