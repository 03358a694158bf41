/**
 * Programs: code given as text (bundleSource), run through Sandbox.run like a task file. The entry is `main` however
 * it is declared, options are the caller's whatever the code declares, and code without `main` is a script whose
 * stdout is the result when the caller asks for that.
 */
import { describe, expect, it } from 'vitest';
import { COMPUTE_LEVELS } from '../../src/config/units.js';
import { BundleError, bundleSource, envelopeSchema, type ProgramLanguage, type ProgramOptions, type WithoutMain } from '../../src/sandbox/index.js';
import { useSandboxAndDir } from '../helpers.js';

const { sandbox, dir } = useSandboxAndDir();

async function run(language: ProgramLanguage, source: string, input?: unknown, extra: { options?: ProgramOptions; withoutMain?: WithoutMain } = {}) {
  const bundle = await bundleSource({ language, source });
  const envelope = await sandbox().run({ bundle, args: input === undefined ? [] : [input], baseDir: dir().base, options: { compute: 'LOW', timeout: '20s', ...extra.options }, ...(extra.withoutMain ? { withoutMain: extra.withoutMain } : {}) });
  return envelopeSchema.parse(envelope);
}

describe('JavaScript programs', () => {
  it('calls a plain function main that is not exported, with the input', async () => {
    const envelope = await run('javascript', 'function main(input) { console.log("hi"); return { doubled: input.n * 2 }; }', { n: 21 });
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ doubled: 42 });
    expect(envelope.execution.stdout).toBe('hi\n');
    expect(envelope.execution.task_name).toBe('main');
  });

  it('calls an exported async main, and TypeScript compiles', async () => {
    const envelope = await run('typescript', 'export async function main(input: { xs: number[] }): Promise<number> { return input.xs.reduce((a, b) => a + b, 0); }', { xs: [1, 2, 3] });
    expect(envelope.result).toBe(6);
  });

  it("runs a task() named main with the caller's options, not the ones it declares", async () => {
    const source = 'import { task } from "capsule";\nexport const main = task({ name: "main", compute: "HIGH", allowedHosts: ["example.com"] }, (input) => input + 1);';
    const envelope = await run('javascript', source, 1);
    expect(envelope.result).toBe(2);
    expect(envelope.execution.fuel_limit).toBe(COMPUTE_LEVELS.LOW);
  });

  it('calls the task a main binding holds in place, never as a sub-task', async () => {
    const source = 'const { task } = require("capsule");\nconst main = task({ name: "helper" }, () => "in place");';
    expect((await run('javascript', source)).result).toBe('in place');
  });

  it('runs code without main as a script whose stdout is the result, when asked', async () => {
    const envelope = await run('javascript', 'const xs = [1, 2, 3];\nconsole.log(xs.map((x) => x * x).join(","));', undefined, { withoutMain: 'script' });
    expect(envelope.success).toBe(true);
    expect(envelope.result).toBe('1,4,9\n');
  });

  it('fails code without main as invalid_task by default, after its top level ran', async () => {
    const envelope = await run('javascript', 'console.log("top level");');
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toMatch(/no function named main/);
    expect(envelope.execution.stdout).toBe('top level\n');
  });

  it('reports an exception in a script as the task error, with no loading prefix', async () => {
    const envelope = await run('javascript', 'null.x;', undefined, { withoutMain: 'script' });
    expect(envelope.error?.error_type).toBe('task_error');
    expect(envelope.error?.message).toMatch(/^TypeError/);
  });

  it('refuses a syntax error at bundling, naming the line', async () => {
    const failure = await bundleSource({ language: 'javascript', source: 'const a = 1;\nconst = 2;\n' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BundleError);
    expect((failure as BundleError).message).toMatch(/^main\.js: cannot bundle: main\.js:2:6: /);
  });

  it('refuses imports of anything but the sandbox modules, and explains top-level await', async () => {
    await expect(bundleSource({ language: 'javascript', source: 'import x from "./other.js";\nexport function main() { return x; }' })).rejects.toThrow(/import "\.\/other\.js" is refused: code given as text can import only/);
    await expect(bundleSource({ language: 'javascript', source: 'import _ from "lodash";' })).rejects.toThrow(/is refused/);
    await expect(bundleSource({ language: 'javascript', source: 'await 1;' })).rejects.toThrow(/async function main\(input\)/);
  });

  it('is content-addressed and records the source', async () => {
    const source = 'function main() { return 1; }';
    const [a, b] = await Promise.all([bundleSource({ language: 'javascript', source }), bundleSource({ language: 'javascript', source })]);
    expect(a.sha256).toBe(b.sha256);
    expect(a.program).toEqual({ language: 'javascript', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: Buffer.byteLength(source) });
    expect(a.program.sha256).not.toBe(a.sha256);
  });

  it('is never described (its top level is the program), and a task file never takes options', async () => {
    const bundle = await bundleSource({ language: 'javascript', source: 'console.log("would run")' });
    await expect(sandbox().describe(bundle, { baseDir: dir().base })).rejects.toThrow(/declares none to describe/);
    const { program: _program, ...asTaskFile } = bundle;
    const envelope = await sandbox().run({ bundle: asTaskFile, baseDir: dir().base, options: { compute: 'LOW' } });
    expect(envelope.error).toMatchObject({ error_type: 'invalid_task', message: expect.stringMatching(/options replace declarations only for code given as text/) });
  });

  it("refuses options that do not validate, naming them as the caller's", async () => {
    const envelope = await run('javascript', 'function main() {}', undefined, { options: { ram: 'lots' } });
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toMatch(/^options given with the code: task "main": option "ram": got "lots"/);
  });

  it('runs the tasks it calls by name as sub-tasks with the same options', async () => {
    const source = 'import { task } from "capsule";\nconst helper = task({ name: "helper", compute: "HIGH" }, (x) => x * 10);\nexport async function main(x) { return (await helper(x)).result; }';
    const envelope = await run('javascript', source, 4);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toBe(40);
  });
});

describe('Python programs', () => {
  it('calls def main(input) and loads the code as a module (its __main__ block does not run)', async () => {
    const source = 'def main(input):\n    print("in main")\n    return {"sum": sum(input)}\n\nif __name__ == "__main__":\n    print("guard ran")\n';
    const envelope = await run('python', source, [1, 2, 3]);
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({ sum: 6 });
    expect(envelope.execution.stdout).toBe('in main\n');
  });

  it('calls main() without the input when it takes none, and main(None) when none was given', async () => {
    expect((await run('python', 'def main():\n    return "no args"\n', { ignored: true })).result).toBe('no args');
    expect((await run('python', 'def main(input):\n    return input\n')).result).toBeNull();
  });

  it("runs an @task main with the caller's options", async () => {
    const source = 'from capsule import task\n\n@task(name="main", compute="HIGH")\ndef entry(x):\n    return x * 3\n';
    const envelope = await run('python', source, 5);
    expect(envelope.result).toBe(15);
    expect(envelope.execution.fuel_limit).toBe(COMPUTE_LEVELS.LOW);
  });

  it('runs a script as __main__, so its guarded block runs, and its stdout is the result', async () => {
    const source = 'def solve():\n    return 6 * 7\n\nif __name__ == "__main__":\n    print(solve())\n';
    const envelope = await run('python', source, undefined, { withoutMain: 'script' });
    expect(envelope.error).toBeNull();
    expect(envelope.result).toBe('42\n');
  });

  it('reports a syntax error as invalid_task with the line', async () => {
    const envelope = await run('python', 'x = 1\ndef main(:\n    pass\n', undefined, { withoutMain: 'script' });
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toMatch(/syntax error in main\.py, line 2/);
  });

  it('fails code without main as invalid_task unless it may be a script', async () => {
    const envelope = await run('python', 'print("only this")\n');
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toMatch(/no function named main/);
  });
});
