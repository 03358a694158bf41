/**
 * The package as a user installs it (test/package/install.ts): packed, installed into a fresh directory outside the
 * repository, its shipped types checked against a user's files with `tsc`, and from that directory: the host API
 * (exec of a TypeScript task file and of Python code, a YAML pipeline through run(), a workflow of the user's own
 * started on a worker the user created with CapsulePlugin), the CLI from dist/, and `capsule init`'s project end
 * to end on its embedded server.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cleanEnv } from '../temporal/processes.js';
import { filesUnder, packAndInstall, type Installed } from './install.js';

const run = promisify(execFile);

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const USER_FILES = fileURLToPath(new URL('./project/', import.meta.url));
const BIG = { maxBuffer: 64 * 1024 * 1024 };

let installed: Installed;

beforeAll(async () => {
  installed = await packAndInstall();
  cpSync(USER_FILES, installed.project, { recursive: true });
}, 600_000);

afterAll(() => {
  if (installed !== undefined) rmSync(installed.root, { recursive: true, force: true });
});

/** `capsule <args>` as the user's project runs it (node_modules/.bin), without the caller's Temporal settings. */
function capsule(args: string[], cwd: string, env: Record<string, string> = {}) {
  return run(path.join(installed.project, 'node_modules', '.bin', 'capsule'), args, { cwd, env: cleanEnv(env), ...BIG });
}

describe('the packed package', () => {
  it('ships compiled code with types for every entry, the resources nothing compiles, and no tests', async () => {
    const pkg = path.join(installed.project, 'node_modules', 'capsule');
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { private?: boolean; exports: Record<string, { types: string; default: string } | string> };
    expect(manifest.private).toBeUndefined();
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(path.join(pkg, target.types)), `${entry} types`).toBe(true);
      expect(existsSync(path.join(pkg, target.default)), `${entry} code`).toBe(true);
    }
    const files = filesUnder(pkg).filter((file) => !file.startsWith('node_modules'));
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('src/sandbox/guest/runner.ts');
    expect(files).toContain('src/sandbox/wit/runner.wit');
    expect(files).toContain('src/sdk/python/capsule/__init__.py');
    expect(files.some((file) => file.startsWith('test/'))).toBe(false);
    expect(files).not.toContain('tsconfig.json');
  });

  it("type-checks a user's files against the shipped types", async () => {
    await run(path.join(installed.project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: installed.project, ...BIG });
    expect(existsSync(path.join(installed.project, 'build', 'app.js'))).toBe(true);
  }, 180_000);

  it('runs exec, a pipeline and a workflow of its own on a CapsulePlugin worker, from compiled JavaScript', async () => {
    const taskQueue = `package-${Date.now()}`;
    const { stdout } = await run(process.execPath, ['build/app.js'], { cwd: installed.project, env: cleanEnv({ TEMPORAL_ADDRESS: inject('temporalAddress'), CAPSULE_TASK_QUEUE: taskQueue }), ...BIG });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as {
      ts: unknown;
      py: unknown;
      pipeline: { id: string; status: string; output: unknown };
      events: Array<{ type: string; change?: string; step?: string }>;
      workflow: { status: string; output: unknown };
    };
    expect(out.ts).toEqual({ greeting: 'Hello, Ada!' });
    expect(out.py).toBe(42);
    expect(out.pipeline).toMatchObject({ status: 'succeeded', output: { greeting: 'Hello, Bob!' } });
    expect(out.events).toContainEqual(expect.objectContaining({ type: 'step', change: 'finished', step: 'hello' }));
    expect(out.workflow).toEqual({ status: 'succeeded', output: { first: { greeting: 'Hello, Cy!' }, second: { greeting: 'Hello, again!' }, status: 'succeeded' } });
  }, 300_000);

  it('runs the CLI from dist/ (no tsx): exec prints the envelope', async () => {
    const { stdout } = await capsule(['exec', 'tasks/hello.ts', '--input', '{"name":"Ada"}', '--json'], installed.project);
    expect(JSON.parse(stdout)).toMatchObject({ success: true, result: { greeting: 'Hello, Ada!' } });
  }, 120_000);

  it('serves exec from a resident server started by the installed CLI, and a reinstall gets a new one', async () => {
    const runtime = mkdtempSync(path.join(installed.root, 'xdg-'));
    const env = { XDG_RUNTIME_DIR: runtime, CAPSULE_EXEC_SERVER: 'on' };
    const sockets = () => (existsSync(path.join(runtime, 'capsule')) ? readdirSync(path.join(runtime, 'capsule')).filter((name) => name.endsWith('.sock')) : []);
    const logs = () => sockets().map((socket) => readFileSync(path.join(runtime, 'capsule', socket.replace(/\.sock$/, '.log')), 'utf8'));
    const hello = async () => JSON.parse((await capsule(['exec', 'tasks/hello.ts', '--input', '{"name":"Ada"}', '--json'], installed.project, env)).stdout) as unknown;
    try {
      // The first call runs in its own process and starts a server; the next is served by it.
      expect(await hello()).toMatchObject({ success: true, result: { greeting: 'Hello, Ada!' } });
      await until(() => sockets().length === 1, 'the exec server to listen');
      expect(await hello()).toMatchObject({ success: true, result: { greeting: 'Hello, Ada!' } });
      expect(logs()[0]).toContain('task "main" in');
      // npm writes package.json on every install: the same version reinstalled is served by a new server.
      const manifest = path.join(installed.project, 'node_modules', 'capsule', 'package.json');
      writeFileSync(manifest, readFileSync(manifest));
      await hello();
      await until(() => sockets().length === 2, 'a second server for the reinstalled package');
    } finally {
      for (const log of logs()) {
        const pid = /\(pid (\d+)\)/.exec(log)?.[1];
        if (pid !== undefined) try { process.kill(Number(pid), 'SIGTERM'); } catch { /* already gone */ }
      }
    }
  }, 300_000);

  it("runs `capsule init`'s project end to end: its pipeline with the CLI, then its host-API script", async () => {
    const project = path.join(installed.root, 'fresh');
    await capsule(['init', 'fresh'], installed.root);
    // The new project uses the Capsule installed next to it (its package.json names the published version).
    symlinkSync(path.join(installed.project, 'node_modules'), path.join(project, 'node_modules'), 'dir');
    const pipeline = await capsule(['run', 'pipeline.yaml', '--input', '{"name":"Ada"}', '--json'], project);
    expect(JSON.parse(pipeline.stdout)).toMatchObject({ status: 'succeeded', output: { shout: 'HELLO, ADA!' } });
    const app = await run(process.execPath, ['app.js'], { cwd: project, env: cleanEnv(), ...BIG });
    expect(app.stdout).toContain("exec a task file: { greeting: 'Hello, Ada!' }");
    expect(app.stdout).toContain('exec Python code: 42');
    expect(app.stdout).toContain("pipeline: { shout: 'HELLO, GRACE!' }");
    expect(app.stdout).toContain("your workflow: [ { shout: 'HELLO, ADA!' }, { shout: 'HELLO, ALAN!' } ]");
    // Everything the project's runs started has stopped: no server is left serving the directory.
    expect(existsSync(path.join(project, '.capsule', 'dev-server.json'))).toBe(false);
  }, 300_000);
});
