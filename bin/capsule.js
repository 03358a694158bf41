#!/usr/bin/env node
// Capsule is written in TypeScript and runs from source through tsx, so `npx capsule` works right after install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');

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
