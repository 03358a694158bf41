/**
 * run_pipeline and get_run through `capsule mcp` (a subprocess, over stdio) on the suite's real Temporal dev server:
 * the server is configured (TEMPORAL_ADDRESS), so a worker of this test process runs the steps, as production
 * workers would. Pipelines are held to the server's ceilings before anything starts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../src/sandbox/index.js';
import { createHarness, type Harness } from '../temporal/helpers.js';
import { call, connectStdio, serverDir, textOf, type Connected } from './helpers.js';

const server = serverDir();
let h: Harness;
let worker: { stop(): Promise<void> };
let connected: Connected;
const client = () => connected.client;

beforeAll(async () => {
  const tasks = path.join(server.dir, 'tasks');
  mkdirSync(tasks);
  writeFileSync(path.join(tasks, 'double.ts'), `import { task } from 'capsule';
export const main = task({ name: 'main', compute: 'LOW', timeout: '5s' }, (xs: number[]) => { console.log('doubling'); return xs.map((x) => x * 2); });
`);
  writeFileSync(path.join(tasks, 'total.py'), `from capsule import task

@task(name="main", compute="LOW", timeout="5s")
def main(xs):
    return {"total": sum(xs)}
`);
  writeFileSync(path.join(tasks, 'greedy.ts'), `import { task } from 'capsule';
export const main = task({ name: 'main', compute: 'HIGH', allowedHosts: ['api.example.com'], allowedFiles: ['.'] }, () => 1);
`);
  writeFileSync(path.join(server.dir, 'pipeline.yaml'), `name: doubling
input: [1, 2]
steps:
  - id: double
    task: ./tasks/double.ts
    input: "{{ input }}"
  - id: total
    task: ./tasks/total.py
    input: "{{ steps.double.output }}"
output: "{{ steps.total.output }}"
`);
  writeFileSync(path.join(server.dir, 'host.pipeline.ts'), 'export const pipeline = { name: "host", steps: [] };\n');
  h = await createHarness();
  const queue = h.queue('mcp');
  worker = await h.startWorker(queue);
  connected = await connectStdio(server.dir, ['--root', '.'], { TEMPORAL_ADDRESS: h.address, CAPSULE_TASK_QUEUE: queue, CAPSULE_UI_URL: 'http://127.0.0.1:8233' });
});

afterAll(async () => {
  await connected?.close();
  await worker?.stop();
  await h?.replayAll();
  await h?.close();
  server.cleanup();
});

describe('run_pipeline and get_run', () => {
  it('start a pipeline file and report its steps and its output', async () => {
    const started = await call(client(), 'run_pipeline', { pipeline: 'pipeline.yaml', input: [1, 2, 3] });
    expect(started.isError ?? false, textOf(started)).toBe(false);
    const { workflow_id: workflowId, ui_url: uiUrl } = started.structuredContent as { workflow_id: string; ui_url: string };
    expect(workflowId).toMatch(/^doubling-[0-9a-f]{12}$/);
    expect(uiUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${workflowId}`);
    h.record(workflowId);
    const run = await call(client(), 'get_run', { workflow_id: workflowId, wait_seconds: 60 });
    expect(run.structuredContent).toMatchObject({
      workflow_id: workflowId,
      status: 'succeeded',
      output: { total: 12 },
      steps: [{ id: 'double', status: 'succeeded', attempts: 1 }, { id: 'total', status: 'succeeded', attempts: 1 }],
    });
    expect(textOf(run)).toMatch(/^workflow doubling-[0-9a-f]{12}: succeeded\n- double: succeeded/);
    const step = await call(client(), 'get_run', { workflow_id: workflowId, step: 'double' });
    const envelope = envelopeSchema.parse(step.structuredContent);
    expect(envelope.result).toEqual([2, 4, 6]);
    expect(envelope.execution.stdout).toBe('doubling\n');
  });

  it('start an inline definition, and report a run still going', async () => {
    const definition = { name: 'inline-total', steps: [{ id: 'total', task: './tasks/total.py', input: '{{ input }}' }] };
    const started = await call(client(), 'run_pipeline', { definition: JSON.stringify(definition), input: [5, 5] });
    const { workflow_id: workflowId } = started.structuredContent as { workflow_id: string };
    h.record(workflowId);
    const first = await call(client(), 'get_run', { workflow_id: workflowId });
    expect(['running', 'succeeded']).toContain((first.structuredContent as { status: string }).status);
    const done = await call(client(), 'get_run', { workflow_id: workflowId, wait_seconds: 60 });
    expect(done.structuredContent).toMatchObject({ status: 'succeeded', output: { total: 10 } });
  });

  it('refuse what the ceilings do not allow, before anything starts', async () => {
    const greedy = await call(client(), 'run_pipeline', { definition: 'name: greedy\nsteps:\n  - id: g\n    task: ./tasks/greedy.ts\n' });
    expect(greedy.isError).toBe(true);
    const message = (greedy.structuredContent as { error: { error_type: string; message: string } }).error;
    expect(message.error_type).toBe('permission_denied');
    expect(message.message).toMatch(/step g \(greedy\.ts\): compute 50,000,000,000 is above the server's 100,000,000/);
    expect(message.message).toMatch(/host "api\.example\.com" is not allowed/);
    expect(message.message).toMatch(/"\." reaches Capsule's own state/);
    expect(message.message).toMatch(/timeout 1m is above the server's 10s/);
    const module = await call(client(), 'run_pipeline', { pipeline: 'host.pipeline.ts' });
    expect(module.structuredContent).toMatchObject({ error: { error_type: 'permission_denied', message: expect.stringMatching(/run on the host/) } });
    const outside = await call(client(), 'run_pipeline', { definition: { name: 'outside', steps: [{ id: 'x', task: '../../etc/x.ts' }] } });
    expect(outside.structuredContent).toMatchObject({ error: { error_type: 'invalid_task' } });
    const invalid = await call(client(), 'run_pipeline', { definition: 'name: [unclosed' });
    expect(invalid.structuredContent).toMatchObject({ error: { error_type: 'invalid_task' } });
    // Messages name the server's files relative to its directory, never where it is on the host.
    for (const result of [greedy, module, outside, invalid]) expect(textOf(result)).not.toContain(server.dir);
  });

  it('approve a waiting step; refuse a second decision and llm steps (they would spend the server\'s key)', async () => {
    const definition = { name: 'gate', input: [1, 2], steps: [{ id: 'review', approval: { prompt: 'Total {{ input }}?' } }, { id: 'total', when: '{{ steps.review.output.approved }}', task: './tasks/total.py', input: '{{ input }}' }] };
    const started = await call(client(), 'run_pipeline', { definition });
    const { workflow_id: workflowId } = started.structuredContent as { workflow_id: string };
    h.record(workflowId);
    let waiting = '';
    for (let i = 0; i < 100 && !waiting.includes('awaiting_approval'); i++) {
      waiting = textOf(await call(client(), 'get_run', { workflow_id: workflowId }));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(waiting).toContain('- review: awaiting_approval: Total [1,2]? (decide with approve)');
    const decided = await call(client(), 'approve', { workflow_id: workflowId, step: 'review', approved: true, by: 'mcp-user' });
    expect(decided.structuredContent).toMatchObject({ workflow_id: workflowId, step: 'review', approved: true, by: 'mcp-user', comment: null });
    const again = await call(client(), 'approve', { workflow_id: workflowId, step: 'review', approved: false });
    expect(again.structuredContent).toMatchObject({ error: { error_type: 'invalid_task', message: expect.stringMatching(/step "review" was already decided: approved by mcp-user|has already finished/) } });
    const done = await call(client(), 'get_run', { workflow_id: workflowId, wait_seconds: 60 });
    expect(done.structuredContent).toMatchObject({ status: 'succeeded', output: { total: 3 } });
    const llm = await call(client(), 'run_pipeline', { definition: { name: 'ask', steps: [{ id: 'ask', llm: { model: 'm', prompt: 'p' } }] } });
    expect(llm.structuredContent).toMatchObject({ error: { message: expect.stringMatching(/step ask: llm steps do not run over MCP/) } });
  });

  it('say when a workflow does not exist', async () => {
    const missing = await call(client(), 'get_run', { workflow_id: 'no-such-run' });
    expect(missing.structuredContent).toMatchObject({ error: { error_type: 'invalid_task', message: 'no workflow with id "no-such-run"' } });
  });
});
