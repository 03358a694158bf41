/** Whole-process timing for the benchmarks: wall time from spawn to exit, and peak RSS as /usr/bin/time reports it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProcessSample {
  ms: number;
  /** Peak resident set of the process (its largest, not the sum of its children), in KiB; from `/usr/bin/time -f %M`. */
  maxRssKiB: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const TIME = '/usr/bin/time';

/**
 * Runs `command args` under /usr/bin/time (both sides of a comparison pay its fork, ~1 ms) and resolves when it exits;
 * a non-zero exit is the caller's to judge, so it is returned, not thrown.
 */
export function timeProcess(command: string, args: string[], options: ProcessOptions): Promise<ProcessSample> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-time-'));
  const rssFile = path.join(dir, 'rss');
  return new Promise<ProcessSample>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(TIME, ['-f', '%M', '-o', rssFile, command, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      try {
        const maxRssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        resolve({ ms, maxRssKiB, code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
      } catch (error) {
        reject(error);
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The environment without `names` (e.g. NODE_EXTRA_CA_CERTS, which costs every node process here ~70 ms). */
export function envWithout(env: NodeJS.ProcessEnv, ...names: string[]): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of names) delete copy[name];
  return copy;
}
