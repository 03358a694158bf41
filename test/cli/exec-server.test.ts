/**
 * `capsule exec` and its resident exec server (src/cli/exec): the first call runs in its own process and starts a
 * server; later calls are served by it, each with its own caller's directory, environment and grants; a socket
 * that is not the user's own is never talked to; a caller that leaves ends its run; a server that dies mid-run is an
 * error, never a silent second run. Every server here lives in a temporary XDG_RUNTIME_DIR and is stopped after.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { serverAddress } from '../../src/cli/exec/server-address.js';
import { answering } from '../../src/cli/exec/server.js';
import { envelopeSchema } from '../../src/sandbox/index.js';
import { repoRoot } from '../helpers.js';

const capsule = path.join(repoRoot, 'bin/capsule.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'capsule-exec-server-'));
const started: ChildProcess[] = [];
afterEach(() => { for (const child of started.splice(0)) child.kill('SIGKILL'); });
afterAll(async () => {
  // Servers started by `capsule exec` are not our children: stop each through its runtime directory's socket file.
  for (const runtime of runtimeDirs) await stopServer(runtime);
  rmSync(root, { recursive: true, force: true });
});

const TASK = `import { task } from 'capsule';
import { readFileSync } from 'fs';
export const main = task({ name: 'main', envVariables: ['GREETING'], allowedFiles: ['./data'] }, () => ({
  greeting: process.env.GREETING ?? null,
  data: readFileSync('./data/note.txt', 'utf8'),
}));
export const spin = task({ name: 'spin', timeout: '2m' }, () => { for (;;) {} });
`;

/** A project directory with the task file and its own data. */
function project(name: string, note: string): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'task.ts'), TASK);
  writeFileSync(path.join(dir, 'data/note.txt'), note);
  return dir;
}

const runtimeDirs: string[] = [];
function runtimeDir(): string {
  const dir = mkdtempSync(path.join(root, 'run-'));
  runtimeDirs.push(dir);
  return dir;
}

function envFor(runtime: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtime, NO_COLOR: '1', ...extra };
  if (extra.CAPSULE_EXEC_SERVER === undefined) delete env.CAPSULE_EXEC_SERVER;
  return env;
}

function exec(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [capsule, 'exec', ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
}

function addressOf(runtime: string) {
  const address = serverAddress({ ...process.env, XDG_RUNTIME_DIR: runtime });
  if (address === undefined) throw new Error('no socket address');
  return address;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const logOf = (runtime: string) => (existsSync(addressOf(runtime).log) ? readFileSync(addressOf(runtime).log, 'utf8') : '');

/** Starts a server in `runtime` as a child of the test, and waits until it answers. */
async function startServer(runtime: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [capsule, 'exec-server', ...extra], { env: envFor(runtime), stdio: 'ignore' });
  started.push(child);
  await until(() => answering(addressOf(runtime).socket), 'the exec server to listen');
  return child;
}

async function stopServer(runtime: string): Promise<void> {
  const log = logOf(runtime);
  const pid = /\(pid (\d+)\)/.exec(log)?.[1];
  if (pid !== undefined) {
    try { process.kill(Number(pid), 'SIGTERM'); } catch { /* already gone */ }
  }
}

describe('capsule exec and its resident server', () => {
  it('runs the first call itself and starts a server; later calls are served by it, with the same envelope', async () => {
    const runtime = runtimeDir();
    const dir = project('first', 'first note');
    const env = envFor(runtime, { GREETING: 'hello' });
    const first = await exec(['task.ts', '--json'], dir, env);
    expect(first.code).toBe(0);
    await until(() => answering(addressOf(runtime).socket), 'the server the first call started');
    // The socket accepts connections as soon as it is bound, a moment before the server notes it in its log.
    await until(() => logOf(runtime).includes('listening on'), 'the server to note that it listens');
    expect(logOf(runtime)).not.toContain('task.ts');
    const second = await exec(['task.ts', '--json'], dir, env);
    expect(second.code).toBe(0);
    const [a, b] = [envelopeSchema.parse(JSON.parse(first.stdout)), envelopeSchema.parse(JSON.parse(second.stdout))];
    expect(b.result).toEqual({ greeting: 'hello', data: 'first note' });
    expect({ ...b, execution: { ...b.execution, duration_ms: 0, ram_used: 0 } }).toEqual({ ...a, execution: { ...a.execution, duration_ms: 0, ram_used: 0 } });
    expect(logOf(runtime)).toContain(`"task.ts" task "main" in ${JSON.stringify(dir)}: success`);
    // The socket's directory is the user's alone.
    expect(statSync(addressOf(runtime).dir).mode & 0o777).toBe(0o700);
  });

  it("runs each call with its caller's directory, environment and usage errors", async () => {
    const runtime = runtimeDir();
    await startServer(runtime);
    const one = project('one', 'note one');
    const two = project('two', 'note two');
    const [a, b] = await Promise.all([
      exec(['task.ts', '--json'], one, envFor(runtime, { GREETING: 'from one' })),
      exec(['task.ts', '--json'], two, envFor(runtime, {})),
    ]);
    expect(JSON.parse(a.stdout).result).toEqual({ greeting: 'from one', data: 'note one' });
    expect(JSON.parse(b.stdout).result).toEqual({ greeting: null, data: 'note two' });
    const unknown = await exec(['task.ts', '--task', 'nope', '--json'], one, envFor(runtime));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('task.ts: no task named "nope" (tasks: main, spin)');
    expect(JSON.parse(unknown.stdout).error.error_type).toBe('invalid_task');
    const badMount = await exec(['task.ts', '--mount', '../elsewhere'], one, envFor(runtime));
    expect(badMount.code).toBe(2);
    expect(badMount.stderr).toContain('--mount');
    const log = logOf(runtime);
    expect(log).toContain(`in ${JSON.stringify(one)}: success`);
    expect(log).toContain(`in ${JSON.stringify(two)}: success`);
    expect(log).toContain(`task "nope" in ${JSON.stringify(one)}: invalid`);
  });

  it('ends the run of a caller that goes away', async () => {
    const runtime = runtimeDir();
    await startServer(runtime);
    const dir = project('leaving', 'note');
    const caller = spawn(process.execPath, [capsule, 'exec', 'task.ts', '--task', 'spin'], { cwd: dir, env: envFor(runtime), stdio: 'ignore' });
    await until(() => logOf(runtime).includes('task "spin" in'), 'the server to start the run');
    caller.kill('SIGKILL');
    // The task's own timeout is two minutes: the run ends because its caller went away.
    await until(() => logOf(runtime).includes('cancelled: its caller went away'), 'the spinning run to end', 30_000);
  });

  it('reports a server that dies mid-run as an error instead of running the task again', async () => {
    const runtime = runtimeDir();
    const server = await startServer(runtime);
    const dir = project('dying', 'note');
    const call = exec(['task.ts', '--task', 'spin'], dir, envFor(runtime));
    await until(() => logOf(runtime).includes('task "spin" in'), 'the server to start the run');
    server.kill('SIGKILL');
    const { code, stderr } = await call;
    expect(code).toBe(1);
    expect(stderr).toContain('the exec server ended during the run');
  });

  it('answers a malformed request with an error and goes on serving', async () => {
    const runtime = runtimeDir();
    await startServer(runtime);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(addressOf(runtime).socket);
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('{"version":1,"request":{"file":42}}\n');
    });
    expect(JSON.parse(reply)).toEqual({ kind: 'internal', message: 'the exec server did not understand the request: expected file, cwd and task as strings' });
    const dir = project('after-malformed', 'still here');
    const ok = await exec(['task.ts', '--json'], dir, envFor(runtime));
    expect(JSON.parse(ok.stdout).result.data).toBe('still here');
  });

  it('never talks to a socket in a directory other users can enter', async () => {
    const runtime = runtimeDir();
    const address = addressOf(runtime);
    mkdirSync(address.dir, { mode: 0o755 });
    chmodSync(address.dir, 0o755);
    let received = '';
    const impostor = createServer((socket) => socket.on('data', (chunk) => (received += chunk.toString())));
    await new Promise<void>((resolve) => impostor.listen(address.socket, resolve));
    try {
      const dir = project('impostor', 'mine');
      const env = envFor(runtime, { GREETING: 'not for the impostor' });
      const { code, stdout } = await exec(['task.ts', '--json'], dir, env);
      expect(code).toBe(0);
      expect(JSON.parse(stdout).result.data).toBe('mine');
      // The directory is made the user's alone, and what was placed in it while it was open is gone.
      await until(() => answering(address.socket), 'a server of our own');
      expect(logOf(runtime)).toContain('listening on');
      const again = await exec(['task.ts', '--json'], dir, env);
      expect(JSON.parse(again.stdout).result.greeting).toBe('not for the impostor');
      expect(logOf(runtime)).toContain(`in ${JSON.stringify(dir)}: success`);
      expect(received).toBe('');
    } finally {
      impostor.close();
    }
  });

  it('runs in its own process and starts nothing with CAPSULE_EXEC_SERVER=off', async () => {
    const runtime = runtimeDir();
    const dir = project('off', 'off note');
    const { code, stdout } = await exec(['task.ts', '--json'], dir, envFor(runtime, { CAPSULE_EXEC_SERVER: 'off' }));
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result.data).toBe('off note');
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(path.join(runtime, 'capsule'))).toBe(false);
  });

  it('ends by itself when idle, taking its socket along', async () => {
    const runtime = runtimeDir();
    const server = await startServer(runtime, ['--idle', '1500']);
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    expect(await exited).toBe(0);
    expect(existsSync(addressOf(runtime).socket)).toBe(false);
  });
});
