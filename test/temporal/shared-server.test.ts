/**
 * Two `capsule run`s in one directory share the embedded server the first one started: the first keeps it up until
 * the second has finished, instead of stopping it under it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { TASKS } from './helpers.js';

const CLI = fileURLToPath(new URL('../../bin/capsule.js', import.meta.url));
const steps = path.join(TASKS, 'steps.ts');

function capsule(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('CAPSULE_TASK')));
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

it('keeps the embedded server up for a second run that uses it, until that run finishes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-shared-'));
  const pipeline = (name: string, ms: number) => {
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ name, steps: [{ id: 'wait', task: `${steps}#slow`, input: { ms, tag: name } }] }));
    return `${name}.json`;
  };
  // The second run starts once the first one's server is up, and outlives the first one's pipeline; the first's
  // step lasts long enough for the second process to start and take its lease on a loaded machine.
  const first = capsule(['run', pipeline('first', 6000)], dir);
  const state = path.join(dir, '.capsule', 'dev-server.json');
  for (let i = 0; i < 600 && !existsSync(state); i++) await sleep(100);
  expect(existsSync(state)).toBe(true);
  const second = capsule(['run', pipeline('second', 10_000), '--json'], dir);

  const [a, b] = await Promise.all([first, second]);
  expect(a.code, a.stderr).toBe(0);
  expect(a.stderr).toContain('keeping the embedded Temporal server up until 1 other `capsule run`(s) in this directory finish');
  expect(b.code, b.stderr).toBe(0);
  expect(JSON.parse(b.stdout)).toMatchObject({ status: 'succeeded', steps: [{ id: 'wait', envelope: { result: { tag: 'second' } } }] });
  expect(existsSync(state)).toBe(false);
});
