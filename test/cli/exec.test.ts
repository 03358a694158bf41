import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../src/sandbox/index.js';
import { fixture, repoRoot, taskDir } from '../helpers.js';

const run = promisify(execFile);
const capsule = path.join(repoRoot, 'bin/capsule.js');
const dir = taskDir();
afterAll(() => dir.cleanup());

async function exec(args: string[], cwd = repoRoot) {
  try {
    const { stdout, stderr } = await run(process.execPath, [capsule, 'exec', ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('capsule exec', () => {
  it('prints only the envelope on stdout with --json, with positional arguments as strings', async () => {
    const { code, stdout } = await exec([fixture('hello.ts'), 'Ada', '42', '--json']);
    expect(code).toBe(0);
    const envelope = envelopeSchema.parse(JSON.parse(stdout));
    expect(envelope.result).toEqual({ args: ['Ada', '42'], greeting: 'hello Ada' });
    // The guest's own output is inside the envelope, never mixed into stdout.
    expect(envelope.execution.stdout).toBe('hello from the guest\n');
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });

  it('passes --input as one JSON argument', async () => {
    const { code, stdout } = await exec([fixture('hello.ts'), '--input', '{"name":"Bob","n":[1,2]}', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result.args).toEqual([{ name: 'Bob', n: [1, 2] }]);
  });

  it('prints a readable summary by default', async () => {
    const { code, stdout } = await exec([fixture('hello.ts'), 'Ada']);
    expect(code).toBe(0);
    expect(stdout).toContain('✔ main succeeded');
    expect(stdout).toContain('"greeting": "hello Ada"');
    expect(stdout).toContain('hello from the guest');
  });

  it('exits 1 when the task fails, with the error in the envelope', async () => {
    const { code, stdout } = await exec([fixture('limits.ts'), '--task', 'fail', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error).toEqual({ error_type: 'task_error', message: 'Error: boom: the task gave up' });
  });

  it('exits 2 for usage errors', async () => {
    const both = await exec([fixture('hello.ts'), 'x', '--input', '1']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either as positional arguments or with --input');
    const badJson = await exec([fixture('hello.ts'), '--input', '{nope']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--input: not valid JSON');
    expect((await exec([])).code).toBe(2);
    const missing = await exec(['no/such/file.ts']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no/such/file.ts: no such file');
  });

  it('exits 2 for an unknown task, listing the file\'s tasks', async () => {
    const { code, stderr, stdout } = await exec([fixture('hello.ts'), '--task', 'nope', '--json']);
    expect(code).toBe(2);
    expect(stderr).toContain('no task named "nope" (tasks: main, other-task)');
    expect(JSON.parse(stdout).error.error_type).toBe('invalid_task');
  });

  it('exits 2 for bad task options, naming the file, the task and the option', async () => {
    const file = path.join(dir.base, 'bad.ts');
    writeFileSync(file, `import { task } from 'capsule';\nexport const main = task({ name: 'main', ram: 'lots' }, () => 1);\n`);
    const { code, stderr } = await exec([file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: task "main": option "ram": got "lots"`);
  });

  it('exits 2 for a task file that does not compile', async () => {
    const file = path.join(dir.base, 'broken.ts');
    writeFileSync(file, 'export const main = task({ name: "main" }, () => {\n');
    const { code, stderr } = await exec([file]);
    expect(code).toBe(2);
    expect(stderr).toContain('cannot bundle');
  });

  it('uses capsule.toml in the directory it runs in, and resolves allowedFiles there', async () => {
    const project = path.join(dir.root, 'with-config');
    mkdirSync(path.join(project, 'data'), { recursive: true });
    writeFileSync(path.join(project, 'data/input.txt'), 'from the config project');
    writeFileSync(path.join(project, 'capsule.toml'), '[tasks]\ndefault_compute = "low"\ndefault_allowed_files = ["./data"]\n');
    writeFileSync(path.join(project, 'main.ts'), `import { task } from 'capsule';\nimport fs from 'node:fs';\nexport const main = task({ name: 'main' }, () => fs.readFileSync('./data/input.txt', 'utf8'));\n`);
    const { code, stdout } = await exec(['main.ts', '--json'], project);
    expect(code).toBe(0);
    const envelope = JSON.parse(stdout);
    expect(envelope.result).toBe('from the config project');
    expect(envelope.execution.fuel_limit).toBe(100_000_000);
    writeFileSync(path.join(project, 'capsule.toml'), '[tasks]\ndefault_compte = "low"\n');
    const bad = await exec(['main.ts'], project);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown key(s) "tasks.default_compte"');
  });
});

describe('capsule exec with a Python task', () => {
  it('runs examples/hello/main.py (files, a sub-task) and prints only the envelope with --json', async () => {
    const { code, stdout } = await exec(['main.py', '--input', '{"name":"Ada"}', '--json'], path.join(repoRoot, 'examples/hello'));
    expect(code).toBe(0);
    const envelope = envelopeSchema.parse(JSON.parse(stdout));
    expect(envelope.result).toMatchObject({ message: 'HELLO, ADA' });
    expect((envelope.result as { subTaskFuel: number }).subTaskFuel).toBeGreaterThan(0);
    expect(envelope.execution.stdout).toBe('read 5 characters from ./data/greeting.txt\n');
  });

  it('exits 1 with the traceback\'s last line when the task raises', async () => {
    const file = path.join(dir.base, 'raises.py');
    writeFileSync(file, 'from capsule import task\n\n@task\ndef main():\n    raise ValueError("boom")\n');
    const { code, stdout } = await exec([file, '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error).toEqual({ error_type: 'task_error', message: 'ValueError: boom' });
  });

  it('exits 2 for bad options, naming them as the Python file spells them', async () => {
    const file = path.join(dir.base, 'bad.py');
    writeFileSync(file, 'from capsule import task\n\n@task(name="main", max_retries=-1)\ndef main():\n    return 1\n');
    const { code, stderr } = await exec([file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: task "main": option "max_retries": expected an integer >= 0`);
  });

  it('exits 2 for a file type that is not a task', async () => {
    const file = path.join(dir.base, 'task.rb');
    writeFileSync(file, 'puts 1\n');
    const { code, stderr } = await exec([file]);
    expect(code).toBe(2);
    expect(stderr).toContain('expected a TypeScript, JavaScript or Python task file');
  });
});
