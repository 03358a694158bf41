/**
 * Nothing Capsule starts outlives it, even when it is killed with SIGKILL (no cleanup runs): the embedded Temporal
 * server of `capsule dev` / `capsule run` ends with its parent. (`capsule worker`'s children are checked the same way
 * in crash.test.ts.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { running, waitFor } from './processes.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/dev-server-process.ts', import.meta.url));

describe('the embedded server', () => {
  it.runIf(process.platform === 'linux')('ends when the process that started it is killed with SIGKILL', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', SCRIPT, inject('temporalBinary')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const serverPid = await waitFor('the server to be ready', () => {
      const pid = /ready (\d+)/.exec(out)?.[1];
      return pid === undefined ? undefined : Number(pid);
    });
    expect(running(serverPid)).toBe(true);
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    parent.kill('SIGKILL');
    await exited;
    await waitFor('the orphaned server to end', () => (running(serverPid) ? undefined : true), 20_000);
  });
});
