#!/usr/bin/env node
// An installed package runs its compiled code (dist/, built by `tsc` when the package is packed). A checkout (its
// tsconfig.json is next to src/, and the package does not ship one) runs the TypeScript sources through tsx, so an
// edit takes effect without a build and a dist/ left over from an earlier `npm install` is never run stale.
import { existsSync } from 'node:fs';

const checkout = existsSync(new URL('../tsconfig.json', import.meta.url));
const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (!checkout && existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}

let code;
try {
  code = await main(process.argv);
} catch (error) {
  process.stderr.write(`capsule: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  code = 1;
}
process.exitCode = code;
// The only place the process ends: after everything written to stdout and stderr has been handed to the OS (a pipe
// takes 64 KB at a time; exiting earlier cuts a large --json result), and without waiting for handles a command
// may leave behind (the SDK's native runtime, esbuild's service).
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);

/** Resolves once everything written to `stream` so far is flushed (or the stream failed: nobody reads it). */
function drained(stream) {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.once('error', resolve);
    stream.write('', () => resolve());
  });
}
