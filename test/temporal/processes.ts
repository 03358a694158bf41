/**
 * Real processes for the Temporal tests: `capsule` commands as subprocesses (output captured whole), long-running
 * `capsule worker`s a test can SIGKILL or SIGTERM, and the process tree under a pid (to show nothing outlives it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/capsule.js', import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's Temporal settings, plus `env`. */
export function cleanEnv(env: Record<string, string> = {}): Record<string, string> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('TEMPORAL_') && !entry[0].startsWith('CAPSULE_TASK')),
  );
  return { ...clean, ...env };
}

/** Runs `capsule <args>` to its end; stdout is read through a pipe, as a script would. */
export function capsule(args: string[], cwd: string, env: Record<string, string> = {}, stdin?: string): Promise<CommandResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(env), stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => stdout.push(c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr })));
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it logged so far (JSON lines on stderr). */
  logs(): string;
  /** Resolves with its exit code (or signal) when it ends. */
  exited: Promise<number | string | null>;
}

/** `capsule worker` on `taskQueue` of the server at `address`; resolves once it polls. */
export function spawnCapsuleWorker(address: string, taskQueue: string, cwd: string, args: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], {
    cwd,
    env: cleanEnv({ TEMPORAL_ADDRESS: address, CAPSULE_TASK_QUEUE: taskQueue }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`capsule worker exited early (${String(code)}):\n${logs}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      logs += chunk.toString();
      if (logs.includes('"state":"RUNNING"')) resolve({ child, pid: child.pid!, logs: () => logs, exited });
    });
  });
}

/** Every live process below `pid` (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** True while `pid` runs (a zombie, dead but not yet reaped by its new parent, does not count). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
