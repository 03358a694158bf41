/**
 * Starting the embedded server survives a start that dies before it is ready (a port picked free and taken before
 * the server bound it): it is tried again, up to three times, and then fails naming the exit.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { startDevServer } from '../../src/client/dev-server.js';

/** A stand-in for the Temporal CLI that exits 1 on its first `failures` starts, then runs the real one. */
function flakyBinary(failures: number): { binary: string; starts: () => number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-flaky-start-'));
  const counter = path.join(dir, 'starts');
  writeFileSync(counter, '');
  const binary = path.join(dir, 'temporal');
  writeFileSync(binary, [
    '#!/bin/sh',
    `echo start >> '${counter}'`,
    `if [ "$(wc -l < '${counter}')" -le ${failures} ]; then exit 1; fi`,
    `exec '${inject('temporalBinary')}' "$@"`,
    '',
  ].join('\n'));
  chmodSync(binary, 0o755);
  return { binary, starts: () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length };
}

describe('starting the embedded Temporal server', () => {
  it('tries again when a start exits before the server is ready', async () => {
    const { binary, starts } = flakyBinary(2);
    const server = await startDevServer({ binary, headless: true });
    try {
      expect(starts()).toBe(3);
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('gives up after three starts, naming the exit code', async () => {
    const { binary, starts } = flakyBinary(10);
    await expect(startDevServer({ binary, headless: true })).rejects.toThrow(/start-dev exited with code 1 before it was ready/);
    expect(starts()).toBe(3);
  }, 120_000);
});
