import { task } from 'capsule';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Data crossing the sandbox's boundary (bench/boundary.ts): each task moves `n` bytes one way. `serialise` is the
 * baseline: the same string put through JSON.stringify inside the task, which never leaves.
 */
const options = { compute: 'HIGH', ram: '256MB', allowedFiles: [{ path: './data', mode: 'read-write' as const }] };

export const serialise = task({ name: 'serialise', ...options }, (n: number) => JSON.stringify({ result: 'x'.repeat(n) }).length);
export const returnText = task({ name: 'returnText', ...options }, (n: number) => 'x'.repeat(n));
export const writeText = task({ name: 'writeText', ...options }, (n: number) => {
  writeFileSync('./data/text.txt', 'x'.repeat(n));
  return n;
});
export const writeBytes = task({ name: 'writeBytes', ...options }, (n: number) => {
  writeFileSync('./data/bytes.bin', new Uint8Array(n).fill(7));
  return n;
});
export const readText = task({ name: 'readText', ...options }, () => readFileSync('./data/text.txt', 'utf8').length);
export const readBytes = task({ name: 'readBytes', ...options }, () => readFileSync('./data/bytes.bin').length);
