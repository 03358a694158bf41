/**
 * The runTask activity alone (no server, no sandbox): MockActivityEnvironment with a stand-in sandbox and bundle
 * reader. It decides the step's two retry budgets, checks its input against the contract and passes the step's
 * carried options to the sandbox unchanged.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it, vi } from 'vitest';
import { createActivities, type TaskRunner } from '../../src/activities/index.js';
import type { ResolvedTaskOptions } from '../../src/config/task-options.js';
import type { Envelope, RunRequest } from '../../src/sandbox/index.js';
import type { RunTaskInput, RunTaskResult, TaskRef } from '../../src/workflows/shared.js';

const SHA = 'a'.repeat(64);
const OPTIONS: ResolvedTaskOptions = {
  name: 'main', compute: 100_000_000, ram: 64 * 1024 * 1024, timeout: 5000, maxRetries: 1, allowedFiles: [{ path: 'data', mode: 'read-only' }],
  allowedHosts: [], envVariables: [], secrets: {}, maxResponseSize: 1024,
};

function input(over: Partial<TaskRef> = {}): RunTaskInput {
  return {
    ref: { bundle: SHA, task: 'main', options: OPTIONS, maxLostAttempts: 2, ...over },
    entryFile: '/project/task.ts',
    args: [{ n: 1 }],
    baseDir: '/project',
    defaults: {},
    stepId: 'step',
    firstExecutionRunId: 'first-run',
  };
}

function envelope(over: Partial<Envelope> = {}): Envelope {
  return {
    success: true, result: { ok: true }, error: null, ...over,
    execution: {
      task_name: 'main', duration_ms: 12, retries: 0, fuel_consumed: 10, fuel_limit: OPTIONS.compute, ram_used: 1, ram_limit: OPTIONS.ram,
      host_requests: [], denials: [], stdout: 'hi\n', stderr: '', truncated: false,
    },
  };
}

/** A sandbox that records its requests and answers with `answer`. */
function sandbox(answer: Envelope): TaskRunner & { requests: RunRequest[] } {
  const requests: RunRequest[] = [];
  return { requests, run: async (request) => (requests.push(request), answer) };
}

/** The server's side of the report confirmation: always there; `calls` lists the RPCs it answered, in order. */
function serverClient() {
  const calls: string[] = [];
  const client = {
    activity: { heartbeat: async () => void calls.push('heartbeat') },
    connection: { workflowService: { getSystemInfo: async () => (calls.push('getSystemInfo'), {}) } },
    options: { namespace: 'default' },
    withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
  } as unknown as Client;
  return { client, calls };
}
const { client } = serverClient();
const bundles = { code: async (sha256: string) => `// code of ${sha256}` };

function environment(info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}, server: Client = client) {
  return new MockActivityEnvironment({ startToCloseTimeoutMs: 60_000, ...info }, { client: server });
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('runTask activity', () => {
  it('runs the step with the options it carries, its code from the workflow and its context', async () => {
    const runner = sandbox(envelope());
    const { runTask } = createActivities({ sandbox: runner, bundles });
    const result = await environment().run(runTask, input({ mounts: ['data::in'] }));
    expect(result).toMatchObject({ success: true, result: { ok: true }, earlier_attempts: [], lost_attempts: [], sizes: { result_bytes: 11, stdout_bytes: 3, stderr_bytes: 0 } });
    const [request] = runner.requests;
    expect(request).toMatchObject({ bundle: { sha256: SHA, code: `// code of ${SHA}`, entryFile: '/project/task.ts' }, task: 'main', mounts: ['data::in'], args: [{ n: 1 }], baseDir: '/project' });
    expect(request!.resolved).toEqual(OPTIONS);
    expect(request!.context).toMatchObject({ workflowId: 'test', stepId: 'step', attempt: 1 });
    expect(request!.context!.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
  });

  it('lets a task failure retry while maxRetries lasts, then makes it final', async () => {
    const failed = envelope({ success: false, result: null, error: { error_type: 'task_error', message: 'boom' } });
    const { runTask } = createActivities({ sandbox: sandbox(failed), bundles });
    const first = await failure(environment({ attempt: 1 }).run(runTask, input()));
    expect(first).toMatchObject({ type: 'task_error', message: 'boom', nonRetryable: false });
    const heartbeat = { step_id: 'step', attempt: 1, earlier_attempts: [{ attempt: 1, error_type: 'task_error', message: 'boom', duration_ms: 12 }], lost_attempts: [] };
    const second = await failure(environment({ attempt: 2, heartbeatDetails: heartbeat }).run(runTask, input()));
    expect(second.nonRetryable).toBe(true);
    expect((second.details?.[0] as RunTaskResult).earlier_attempts).toEqual([heartbeat.earlier_attempts[0]]);
  });

  it('never retries a deterministic failure', async () => {
    const exhausted = envelope({ success: false, result: null, error: { error_type: 'fuel_exhausted', message: 'fuel' } });
    const { runTask } = createActivities({ sandbox: sandbox(exhausted), bundles });
    expect(await failure(environment().run(runTask, input()))).toMatchObject({ type: 'fuel_exhausted', nonRetryable: true });
  });

  it('refuses to run once the step was lost more often than maxLostAttempts', async () => {
    const runner = sandbox(envelope());
    const { runTask } = createActivities({ sandbox: runner, bundles });
    // Attempts 1-3 left no record: all three were lost, one more than maxLostAttempts 2.
    const refused = await failure(environment({ attempt: 4 }).run(runTask, input()));
    expect(refused).toMatchObject({ type: 'LostAttemptsExhausted', nonRetryable: true });
    expect(refused.message).toContain('step "step" was lost 3 time(s), more than its maxLostAttempts of 2');
    expect(runner.requests).toEqual([]);
  });

  it('spends no heartbeat write on a short first attempt: no beat at its start, and its report waits for the server with a read', async () => {
    const { runTask } = createActivities({ sandbox: sandbox(envelope()), bundles });
    const server = serverClient();
    const first = environment({ attempt: 1, heartbeatTimeoutMs: 30_000 }, server.client);
    const beats: unknown[] = [];
    first.on('heartbeat', (details: unknown) => beats.push(details));
    await first.run(runTask, input());
    expect(beats).toEqual([]);
    expect(server.calls).toEqual(['getSystemInfo']);
  });

  it('beats at the start of a retry (naming the earlier attempts), and confirms with a heartbeat when no heartbeat timeout bounds the attempt', async () => {
    const { runTask } = createActivities({ sandbox: sandbox(envelope()), bundles });
    const server = serverClient();
    const retry = environment({ attempt: 2 }, server.client);
    const beats: unknown[] = [];
    retry.on('heartbeat', (details: unknown) => beats.push(details));
    await retry.run(runTask, input());
    expect(beats).toEqual([expect.objectContaining({ step_id: 'step', attempt: 2, lost_attempts: [expect.objectContaining({ attempt: 1 })] })]);
    expect(server.calls).toEqual(['heartbeat']);
  });

  it('times its first beat 5 s into the attempt (half the heartbeat timeout if that is shorter), then beats every second', async () => {
    for (const [heartbeatTimeoutMs, firstBeatMs] of [[30_000, 5000], [4000, 2000]] as const) {
      vi.useFakeTimers();
      try {
        let finish!: (envelope: Envelope) => void;
        const held: TaskRunner = { run: () => new Promise<Envelope>((resolve) => (finish = resolve)) };
        const { runTask } = createActivities({ sandbox: held, bundles });
        const env = environment({ attempt: 1, heartbeatTimeoutMs });
        const beats: unknown[] = [];
        env.on('heartbeat', (details: unknown) => beats.push(details));
        const running = env.run(runTask, input());
        await vi.advanceTimersByTimeAsync(firstBeatMs - 1);
        expect(beats).toEqual([]);
        await vi.advanceTimersByTimeAsync(1);
        expect(beats).toEqual([expect.objectContaining({ step_id: 'step', attempt: 1 })]);
        await vi.advanceTimersByTimeAsync(1000);
        expect(beats).toHaveLength(2);
        finish(envelope());
        await running;
        await vi.advanceTimersByTimeAsync(5000);
        expect(beats).toHaveLength(2);
      } finally {
        vi.useRealTimers();
      }
    }
  });

  it('refuses an input that breaks the contract, naming the field, before anything runs', async () => {
    const runner = sandbox(envelope());
    const { runTask } = createActivities({ sandbox: runner, bundles });
    const broken = { ...input(), ref: { ...input().ref, options: { ...OPTIONS, allowedFiles: [{ path: '../outside', mode: 'read-write' }] } } };
    const refused = await failure(environment().run(runTask, broken as RunTaskInput));
    expect(refused).toMatchObject({ type: 'InvalidPipeline', nonRetryable: true });
    expect(refused.message).toContain('invalid options of step "step": allowedFiles[0].path: expected a normalised relative path');
    const noBundle = await failure(environment().run(runTask, { ...input(), ref: { ...input().ref, bundle: 'not-a-hash' } }));
    expect(noBundle.message).toContain('invalid runTask input: ref.bundle: expected a sha256');
    expect(runner.requests).toEqual([]);
  });
});
