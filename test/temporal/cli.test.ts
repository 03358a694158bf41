/**
 * `capsule run` (and friends) end to end as subprocesses: the embedded server path (started and stopped by the
 * command), the configured-server path, exit codes, --json output, and bad files rejected with nothing started.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, TASKS, type Harness } from './helpers.js';
import { capsule, cleanEnv, CLI } from './processes.js';

const steps = path.join(TASKS, 'steps.ts');

function project(pipeline: object): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-cli-'));
  const file = path.join(dir, 'pipeline.json');
  writeFileSync(file, JSON.stringify(pipeline));
  return { dir, file };
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  // Runs on the embedded servers are gone with them; the configured-server run is replayed here.
  await h.replayAll(); // throws on any determinism failure
  await h.close();
});

describe('capsule run (subprocess)', () => {
  it('runs a pipeline on the embedded server: exit 0, one JSON object, server stopped afterwards', async () => {
    const { dir } = project({
      name: 'cli-ok',
      input: { topic: 'cli', n: 2 },
      steps: [
        { id: 'plan', task: `${steps}#plan`, input: { topic: '{{ input.topic }}', n: '{{ input.n }}' } },
        { id: 'fetch', task: `${steps}#fetch`, forEach: '{{ steps.plan.output }}', input: { query: '{{ item }}', index: '{{ index }}' } },
      ],
    });
    const result = await capsule(['run', 'pipeline.json', '--json', '--input', '{"topic":"json","n":3}'], dir);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { workflowId: string; status: string; steps: { id: string; envelope: { success: boolean; execution: { fuel_consumed: number } } }[]; uiUrl: string };
    expect(out.status).toBe('succeeded');
    expect(out.workflowId).toMatch(/^cli-ok-[0-9a-f]{12}$/);
    expect(out.steps.map((s) => s.id).sort()).toEqual(['fetch[0]', 'fetch[1]', 'fetch[2]', 'plan']);
    expect(out.steps.every((s) => s.envelope.success && s.envelope.execution.fuel_consumed > 0)).toBe(true);
    expect(out.uiUrl).toContain(`/namespaces/default/workflows/${out.workflowId}`);
    expect(existsSync(path.join(dir, '.capsule', 'temporal.db'))).toBe(true);
    expect(existsSync(path.join(dir, '.capsule', 'dev-server.json'))).toBe(false);
    // Later, the persisted run is still there; with no server left running, status prints no dead link.
    const later = await capsule(['status', out.workflowId], dir);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toContain(`${out.workflowId}: COMPLETED`);
    expect(later.stdout).not.toContain('web UI: http');
    expect(later.stdout).toContain('run `capsule dev` to browse runs in the Web UI');
  });

  it('exits 1 when the pipeline fails, and prints the failed step', async () => {
    const { dir } = project({ name: 'cli-fail', steps: [{ id: 'spin', task: `${steps}#spin` }] });
    const result = await capsule(['run', 'pipeline.json'], dir);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/spin\s+failed\s+1\s+.*fuel_exhausted/);
    expect(result.stdout).toMatch(/FAILED: pipeline "cli-fail" .* failed at step "spin" after 1 attempt\(s\)/);
    expect(result.stdout).toMatch(/workflow id: cli-fail-[0-9a-f]{12}/);
  });

  it('detaches on Ctrl-C without cancelling; capsule watch reattaches and finishes it', async () => {
    const { dir } = project({
      name: 'cli-detach',
      steps: [
        { id: 'slow', task: `${steps}#slow`, input: { ms: 4000, tag: 'survived' } },
        { id: 'after', task: steps, input: '{{ steps.slow.output }}' },
      ],
    });
    const child = spawn(process.execPath, [CLI, 'run', 'pipeline.json'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const running = new Promise<void>((resolve) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('step slow: running')) resolve();
      });
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await running;
    child.kill('SIGINT');
    expect(await closed, stderr).toBe(0);
    const workflowId = /capsule watch (cli-detach-[0-9a-f]{12})/.exec(stderr)?.[1];
    expect(workflowId, stderr).toBeDefined();

    const watched = await capsule(['watch', workflowId!, '--json'], dir);
    expect(watched.code, watched.stderr).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({ workflowId, status: 'succeeded', output: { step: 'main', input: { tag: 'survived' } } });
  });

  it('exits 2 on a bad pipeline file and starts nothing', async () => {
    const { dir } = project({ name: 'cli-bad', steps: [{ id: 'a', task: steps, dependsOn: ['b'] }] });
    const result = await capsule(['run', 'pipeline.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: .*pipeline\.json: steps\[0\] \(a\)\.dependsOn\[0\]: unknown step "b"/);
    expect(existsSync(path.join(dir, '.capsule'))).toBe(false);
  });

  it('submits to a configured server (TEMPORAL_ADDRESS) and the id works with result and history', async () => {
    const taskQueue = h.queue('cli');
    const worker = await h.startWorker(taskQueue);
    try {
      const { dir } = project({ name: 'cli-configured', steps: [{ id: 'one', task: steps, input: '{{ input }}' }] });
      const env = { TEMPORAL_ADDRESS: h.address, CAPSULE_TASK_QUEUE: taskQueue };
      const run = await capsule(['run', 'pipeline.json', '--json', '--input', '{"hello":"world"}'], dir, env);
      expect(run.code, run.stderr).toBe(0);
      const { workflowId, status } = JSON.parse(run.stdout) as { workflowId: string; status: string };
      expect(status).toBe('succeeded');
      expect(existsSync(path.join(dir, '.capsule'))).toBe(false);
      h.record(workflowId);

      const result = await capsule(['result', workflowId, '--json'], dir, env);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ workflowId, status: 'succeeded', output: { step: 'main', input: { hello: 'world' } } });
      const history = await capsule(['history', workflowId], dir, env);
      expect(history.code).toBe(0);
      expect(history.stdout).toMatch(/ACTIVITY_TASK_SCHEDULED\trunTask/);
      expect(history.stdout).toMatch(/WORKFLOW_EXECUTION_COMPLETED/);
      const exported = await capsule(['history', workflowId, '--json'], dir, env);
      expect(exported.code, exported.stderr).toBe(0);
      const events = (JSON.parse(exported.stdout) as { events: { eventType: string; eventTime: string }[] }).events;
      expect(events[0]).toMatchObject({ eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      const cancelled = await capsule(['cancel', workflowId], dir, env);
      expect(cancelled.code).toBe(1);
      expect(cancelled.stderr).toContain('already closed (COMPLETED)');
      const missing = await capsule(['status', 'no-such-workflow'], dir, env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no workflow with id "no-such-workflow"');
    } finally {
      await worker.stop();
    }
  });
});
