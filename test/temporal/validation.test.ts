/**
 * Bad pipeline files and bad inputs are rejected before anything starts, with a message naming the file, the field
 * and what was expected. Validation needs no Temporal connection at all, which is how "nothing started" is shown:
 * preparePipeline is the whole pre-start path of `capsule run`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparePipeline } from '../../src/client/submit.js';
import { MAX_VALUE_BYTES } from '../../src/workflows/shared.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { TASKS } from './helpers.js';

let sandbox: Sandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await Sandbox.create({ poolSize: 1 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-validate-'));
});
afterAll(async () => {
  await sandbox.close();
});

const steps = path.join(TASKS, 'steps.ts');
let n = 0;
function write(content: string, ext = 'yaml'): string {
  const file = path.join(dir, `p${++n}.${ext}`);
  writeFileSync(file, content);
  return file;
}
const prepare = (file: string, inputJson?: string) =>
  preparePipeline({ file, cwd: dir, describer: sandbox, ...(inputJson === undefined ? {} : { inputJson }) });

describe('pipeline validation', () => {
  it('accepts a valid YAML pipeline and infers dependencies from references', async () => {
    const file = write(`name: ok\ninput: { topic: x, n: 2 }\nsteps:\n  - id: plan\n    task: ${steps}#plan\n    input: { topic: "{{ input.topic }}", n: "{{ input.n }}" }\n  - id: fetch\n    task: ${steps}#fetch\n    forEach: "{{ steps.plan.output }}"\n    input: { query: "{{ item }}", index: "{{ index }}" }\n`);
    const input = await prepare(file);
    expect(input.steps.map((s) => [s.id, s.dependsOn])).toEqual([['plan', []], ['fetch', ['plan']]]);
    expect(Object.keys(input.bundles)).toHaveLength(1);
    expect(input.steps[0]!.task).toMatchObject({ task: 'plan', options: { timeout: 20_000, maxRetries: 0 } });
  });

  const cases: [string, string, RegExp][] = [
    ['unknown step reference', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    input: "{{ steps.nope.output }}"\n`, /steps\[0\] \(one\)\.input: refers to unknown step "nope"; steps are: one/],
    ['unknown dependsOn', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    dependsOn: [ghost]\n`, /steps\[0\] \(one\)\.dependsOn\[0\]: unknown step "ghost"/],
    ['cycle', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    dependsOn: [two]\n  - id: two\n    task: ${steps}\n    input: "{{ steps.one.output }}"\n`, /dependency cycle: one -> two -> one/],
    ['duplicate id', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n  - id: one\n    task: ${steps}\n`, /steps\[1\]\.id: duplicate step id "one" \(also steps\[0\]\)/],
    ['missing task file', `name: a\nsteps:\n  - id: one\n    task: ./nowhere.ts\n`, /steps\[0\] \(one\)\.task: task file "\.\/nowhere\.ts" not found/],
    ['unknown task name', `name: a\nsteps:\n  - id: one\n    task: ${steps}#nope\n`, /steps\[0\] \(one\)\.task: .* has no task "nope" \(it exports: main, plan, fetch, combine, spin, slow\)/],
    ['bad task options', `name: a\nsteps:\n  - id: one\n    task: ${path.join(TASKS, 'bad-options.ts')}\n`, /steps\[0\] \(one\)\.task: .*bad-options\.ts: task "main": option "ram": got "64 parsecs"; expected a size/],
    ['bad step override', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    timeout: soon\n`, /steps\[0\] \(one\)\.task: .*option "override timeout": got "soon"; expected a duration/],
    ['unknown field', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    retries: 3\n`, /steps\[0\] \(one\): unknown field\(s\) "retries"/],
    ['no steps', `name: a\nsteps: []\n`, /steps: expected at least one step/],
    ['bad id', `name: a\nsteps:\n  - id: "1 bad"\n    task: ${steps}\n`, /steps\[0\] \(1 bad\)\.id: expected an id/],
    ['item outside forEach', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    input: "{{ item }}"\n`, /steps\[0\] \(one\)\.input: "item" is only available in the input of a step with forEach/],
    ['bad reference syntax', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    input: "{{ steps.x }}"\n`, /steps\[0\] \(one\)\.input: "\{\{ steps\.x \}\}" is not a valid reference/],
    ['invalid YAML', `name: a\nsteps:\n  - id: one\n   task: x\n`, /not valid YAML \(line \d+, column \d+/],
    ['mount of a missing directory', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    mounts: ["nowhere::ws"]\n`, /steps\[0\] \(one\)\.mounts: mount "nowhere::ws": "nowhere" is not an existing directory in the project directory/],
    ['mount leaving the project', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    mounts: ["../..::ws:rw"]\n`, /steps\[0\] \(one\)\.mounts: mount "\.\.\/\.\.::ws:rw": "\.\.\/\.\." escapes the project directory/],
    ['mount with a guest path above the task', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    mounts: [".::../up"]\n`, /steps\[0\] \(one\)\.mounts: mount "\.::\.\.\/up": the guest path "\.\.\/up" contains "\.\."/],
    ['bad retry setting', `name: a\nretry: { initialInterval: fast }\nsteps:\n  - id: one\n    task: ${steps}\n`, /retry\.initialInterval: got "fast"; expected a duration/],
    ['forEach that is a number', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    forEach: 3\n`, /steps\[0\] \(one\)\.forEach: got 3; expected an array, or a single reference that evaluates to one such as "\{\{ steps\.plan\.output \}\}"/],
    ['forEach that is text around a reference', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    forEach: "items: {{ input }}"\n`, /steps\[0\] \(one\)\.forEach: got "items: \{\{ input \}\}"; expected an array/],
    ['forEach over an input field that is not an array', `name: a\ninput: { items: 3 }\nsteps:\n  - id: one\n    task: ${steps}\n    forEach: "{{ input.items }}"\n`, /steps\[0\] \(one\)\.forEach: \{\{ input\.items \}\} is a number \(3\); expected an array to fan out over/],
    ['negative maxLostAttempts', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    maxLostAttempts: -1\n`, /steps\[0\] \(one\)\.maxLostAttempts: expected an integer from 0 to 1000/],
    // Agent step kinds: each refused before anything starts, naming the step and the field.
    ['an llm step without a prompt', `name: a\nsteps:\n  - id: write\n    llm: { model: gpt-4o-mini }\n`, /steps\[0\] \(write\)\.llm\.prompt: expected the prompt text/],
    ['an llm step with an unknown output', `name: a\nsteps:\n  - id: write\n    llm: { model: m, prompt: p, output: yaml }\n`, /steps\[0\] \(write\)\.llm\.output: expected "text" or "json"/],
    ['an llm prompt reading an unknown step', `name: a\nsteps:\n  - id: write\n    llm: { model: m, prompt: "{{ steps.ghost.output }}" }\n`, /steps\[0\] \(write\)\.llm\.prompt: refers to unknown step "ghost"/],
    ['an llm step with a schema that is not one', `name: a\nsteps:\n  - id: write\n    llm: { model: m, prompt: p, output: json, schema: { type: nonsense } }\n`, /steps\[0\] \(write\)\.llm\.schema: not a usable JSON Schema: /],
    ['an llm schema without output json', `name: a\nsteps:\n  - id: write\n    llm: { model: m, prompt: p, schema: { type: object } }\n`, /steps\[0\] \(write\)\.llm\.schema: only meaningful with `output: json`/],
    ['a code step without language', `name: a\nsteps:\n  - id: run\n    code: "def main(i): return 1"\n`, /steps\[0\] \(run\)\.language: a code step needs its language: "javascript", "typescript" or "python"/],
    ['a code step with a bad limit', `name: a\nsteps:\n  - id: run\n    code: "x"\n    language: python\n    compute: LOTS\n`, /steps\[0\] \(run\)\.compute: got "LOTS"/],
    ['language on a task step', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    language: python\n`, /steps\[0\] \(one\)\.language: not allowed on a task step \(only on code steps\)/],
    ['a grant on a task step', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    allowedHosts: [example.com]\n`, /steps\[0\] \(one\)\.allowedHosts: not allowed on a task step \(only on code steps\)/],
    ['an approval with a bad timeout', `name: a\nsteps:\n  - id: review\n    approval: { prompt: ok?, timeout: soon }\n`, /steps\[0\] \(review\)\.approval\.timeout: got "soon"; expected a duration/],
    ['an approval with an unknown onTimeout', `name: a\nsteps:\n  - id: review\n    approval: { prompt: ok?, timeout: 1h, onTimeout: maybe }\n`, /steps\[0\] \(review\)\.approval\.onTimeout: expected "approve", "reject" or "fail"/],
    ['a step of no kind', `name: a\nsteps:\n  - id: one\n    input: 1\n`, /steps\[0\] \(one\): expected one of "task" \(a task file\), "code"/],
    ['a step of two kinds', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    llm: { model: m, prompt: p }\n`, /steps\[0\] \(one\)\.llm: a step is one kind: it has both "task" and "llm"/],
    ['a when with two references', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n  - id: two\n    task: ${steps}\n    when: "{{ steps.one.output.a }} {{ steps.one.output.b }}"\n`, /steps\[1\] \(two\)\.when: .* is not a condition; expected exactly one reference, optionally negated/],
    ['a when with an expression', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n  - id: two\n    task: ${steps}\n    when: "{{ steps.one.output.n > 3 }}"\n`, /steps\[1\] \(two\)\.when: .* is not a condition/],
    ['a when on an unknown step', `name: a\nsteps:\n  - id: one\n    task: ${steps}\n    when: "{{ not steps.ghost.output.ok }}"\n`, /steps\[0\] \(one\)\.when: refers to unknown step "ghost"/],
    ['huge pipeline maxLostAttempts', `name: a\nretry: { maxLostAttempts: 5000 }\nsteps:\n  - id: one\n    task: ${steps}\n`, /retry\.maxLostAttempts: expected an integer from 0 to 1000/],
  ];
  for (const [label, yaml, message] of cases) {
    it(`rejects ${label}`, async () => {
      const file = write(yaml);
      const error = await prepare(file).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('PipelineError');
      expect((error as Error).message.startsWith(file)).toBe(true);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('resolves maxLostAttempts: the step\'s, else the pipeline\'s retry.maxLostAttempts, else capsule.toml\'s, else 10', async () => {
    const pipeline = (retry: string) => write(`name: lost\n${retry}steps:\n  - id: own\n    task: ${steps}\n    maxLostAttempts: 0\n  - id: inherited\n    task: ${steps}\n`);
    const budgets = (input: Awaited<ReturnType<typeof prepare>>) => input.steps.map((s) => [s.id, s.task!.options.maxRetries, s.task!.maxLostAttempts]);
    expect(budgets(await prepare(pipeline('')))).toEqual([['own', 0, 0], ['inherited', 0, 10]]);
    expect(budgets(await prepare(pipeline('retry: { maxLostAttempts: 3 }\n')))).toEqual([['own', 0, 0], ['inherited', 0, 3]]);
    writeFileSync(path.join(dir, 'capsule.toml'), '[tasks]\ndefault_max_lost_attempts = 7\n');
    try {
      const fromToml = await prepare(pipeline(''));
      expect(budgets(fromToml)).toEqual([['own', 0, 0], ['inherited', 0, 7]]);
      expect(fromToml.retry.maxLostAttempts).toBe(7);
      expect(budgets(await prepare(pipeline('retry: { maxLostAttempts: 3 }\n')))).toEqual([['own', 0, 0], ['inherited', 0, 3]]);
    } finally {
      rmSync(path.join(dir, 'capsule.toml'));
    }
  });

  it('accepts a literal forEach array and a forEach over an input array', async () => {
    const literal = write(`name: a\nsteps:\n  - id: one\n    task: ${steps}\n    forEach: [1, 2]\n    input: "{{ item }}"\n`);
    expect((await prepare(literal)).steps[0]!.forEach).toEqual([1, 2]);
    const fromInput = write(`name: a\ninput: { items: [] }\nsteps:\n  - id: one\n    task: ${steps}\n    forEach: "{{ input.items }}"\n`);
    expect((await prepare(fromInput, '{"items":[1,2,3]}')).steps[0]!.forEach).toBe('{{ input.items }}');
  });

  it('rejects --input that is not JSON, naming the flag', async () => {
    const file = write(`name: a\nsteps:\n  - id: one\n    task: ${steps}\n`);
    await expect(prepare(file, '{topic: x}')).rejects.toThrow(/^--input: not valid JSON .*expected e\.g\. --input/);
  });

  it('rejects --input nested 5,000 deep with a clear message instead of crashing', async () => {
    const file = write(`name: a\nsteps:\n  - id: one\n    task: ${steps}\n`);
    await expect(prepare(file, `${'['.repeat(5000)}${']'.repeat(5000)}`)).rejects.toThrow(/^--input: cannot be passed to tasks: it nests more than 512 levels deep/);
  });

  it('takes the command\'s mounts and each step\'s own into the step, after checking them', async () => {
    mkdirSync(path.join(dir, 'sessions/a'), { recursive: true });
    const file = write(`name: m\nsteps:\n  - id: one\n    task: ${steps}\n    mounts: ["sessions/a::ws:rw"]\n  - id: two\n    task: ${steps}\n`);
    const input = await preparePipeline({ file, cwd: dir, describer: sandbox, mounts: ['sessions::all'] });
    expect(input.steps.map((s) => s.task!.mounts)).toEqual([['sessions::all', 'sessions/a::ws:rw'], ['sessions::all']]);
  });

  it('rejects an input that lacks a field the templates read', async () => {
    const file = write(`name: a\nsteps:\n  - id: one\n    task: ${steps}\n    input: { t: "{{ input.topic.name }}" }\n`);
    await expect(prepare(file, '{"topic":{"title":"x"}}')).rejects.toThrow(/steps\[0\] \(one\)\.input: refers to input\.topic\.name, but the pipeline input has no field "name" at input\.topic/);
  });

  it('rejects an input larger than Capsule moves (64MB), before anything starts', async () => {
    const file = write(`name: big\nsteps:\n  - id: one\n    task: ${steps}\n`);
    await expect(prepare(file, JSON.stringify({ blob: 'x'.repeat(MAX_VALUE_BYTES) }))).rejects.toThrow(/the workflow input would be 64\.\dMB \(bundled tasks: .*\), more than Capsule moves \(64MB\)/);
  });

  it('loads JSON pipelines, *.pipeline.ts modules, and a task file as a one-step pipeline', async () => {
    const json = write(JSON.stringify({ name: 'j', steps: [{ id: 'one', task: steps }] }), 'json');
    expect((await prepare(json)).steps).toHaveLength(1);
    const mod = path.join(dir, 'mod.pipeline.ts');
    writeFileSync(mod, `export const pipeline = { name: 'm', steps: [{ id: 'one', task: ${JSON.stringify(steps)} }] };\n`);
    expect((await prepare(mod)).name).toBe('m');
    const single = await prepare(steps, '{"x":1}');
    expect(single.steps.map((s) => [s.id, s.task!.task])).toEqual([['main', 'main']]);
    expect(single.input).toEqual({ x: 1 });
  });
});
