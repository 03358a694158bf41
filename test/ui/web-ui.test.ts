/**
 * A pipeline is readable in the Temporal Web UI: proven in a real browser (Debian's Chromium via playwright-core)
 * against a real dev server with its UI, and the same facts checked through the client API, so a UI layout change
 * cannot hide a metadata regression. The "research" pipeline (test/ui/fixtures) has a fan-out, a step that succeeds
 * on its second attempt, a long step the test holds open, and a step that fails with fuel_exhausted.
 * Screenshots land in test-results/ui/ (ignored by git).
 */
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/run.js';
import { status } from '../../src/cli/commands/status.js';
import type { CommandIo } from '../../src/cli/io.js';
import { preparePipeline, startPipeline } from '../../src/client/submit.js';
import { Sandbox } from '../../src/sandbox/index.js';
import { PIPELINE_FAILED, type RunTaskHeartbeat, type RunTaskResult } from '../../src/workflows/shared.js';
import { startUiStack, waitFor, type UiStack } from './stack.js';

const QUERY = 'CapsulePipeline="research"';
/** What each step's activity summary must say: record id (fan-out index included), task name, resolved limits. */
const SUMMARIES = [
  'plan · plan (compute LOW, ram 64MB, timeout 10s)',
  'search[0] · search (compute LOW, ram 64MB, timeout 10s) — search the corpus',
  'search[1] · search (compute LOW, ram 64MB, timeout 10s) — search the corpus',
  'search[2] · search (compute LOW, ram 64MB, timeout 10s) — search the corpus',
  'notes · notes (compute LOW, ram 64MB, timeout 10s)',
  'draft · draft (compute MEDIUM, ram 64MB, timeout 90s)',
  'publish · publish (compute LOW, ram 64MB, timeout 20s)',
];

let stack: UiStack;
let handle: WorkflowHandle;
let runUrl: string;

beforeAll(async () => {
  stack = await startUiStack();
  const describer = await Sandbox.create({ poolSize: 1 });
  try {
    const input = await preparePipeline({ file: path.join(stack.baseDir, 'research.yaml'), cwd: stack.baseDir, describer });
    handle = await startPipeline(stack.client, input, { taskQueue: stack.taskQueue });
  } finally {
    await describer.close();
  }
});

afterAll(async () => {
  await stack?.close();
});

describe('the Web UI while a long step runs', () => {
  it('opens the run from the URL the CLI prints, shows heartbeats under pending activities and the live step table', async () => {
    // The draft step waits for the test's gate: wait until its heartbeat reports output, as a user would see it.
    const beat = await waitFor('a heartbeat with output from the draft step', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const details = pending.map((a) => decode<RunTaskHeartbeat>(a.heartbeatDetails?.payloads?.[0])).find((d) => d?.step_id === 'draft');
      return details !== undefined && details.stdout_bytes > 0 ? details : undefined;
    });
    expect(beat.elapsed_ms).toBeGreaterThan(0);

    const { page } = stack;
    // `capsule run` (here joining the running pipeline: same file, same workflow id) and `capsule status` print the
    // run's UI link; it has no run id, and the UI must resolve it to the run.
    const expected = `${stack.uiUrl}/namespaces/default/workflows/${handle.workflowId}`;
    const submitted = cliOutput(await runCommand('run', (io) => run({ file: path.join(stack.baseDir, 'research.yaml'), detach: true, json: true, io })));
    expect(JSON.parse(submitted)).toEqual({ workflowId: handle.workflowId, uiUrl: expected, status: 'running', steps: [] });
    const statusText = cliOutput(await runCommand('status', (io) => status({ workflowId: handle.workflowId, io })));
    expect(statusText).toContain(`web UI: ${expected}`);
    await page.goto(expected);
    // The UI resolves the id to its run and opens the run's default view (timeline in UI 2.54, history before).
    await page.waitForURL(/\/workflows\/research-[0-9a-f]{12}\/[0-9a-f-]{36}\/(history|timeline)$/);
    runUrl = page.url().replace(/\/(history|timeline)$/, '');

    await page.goto(`${runUrl}/pending-activities`);
    await visible(page.getByText('Heartbeat Details', { exact: true }));
    await visible(page.getByText('"step_id": "draft"'));
    await visible(page.getByText('"stdout_bytes"'));
    await visible(page.getByText('"elapsed_ms"'));
    await stack.screenshot('1-pending-activity-heartbeat');

    await page.goto(`${runUrl}/user-metadata`);
    const live = await currentDetailsRows(page, (rows) => rows.some((r) => r[0] === 'draft' && r[1] === 'running'));
    expect(live.find((r) => r[0] === 'notes')?.slice(0, 3)).toEqual(['notes', 'succeeded', '2']);
    await stack.screenshot('2-current-details-running');
  });
});

describe('a finished run with a retried and a failed step', () => {
  let failure: unknown;

  beforeAll(async () => {
    stack.openGate();
    failure = await handle.result().then(() => undefined, (error: unknown) => error);
  });

  it('records the metadata through the client API: summary, details, memo, search attributes, history', async () => {
    // The pipeline's failure names the step and carries the step's error_type as its cause.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const pipelineFailure = (failure as WorkflowFailedError).cause;
    expect(pipelineFailure).toBeInstanceOf(ApplicationFailure);
    expect((pipelineFailure as ApplicationFailure).type).toBe(PIPELINE_FAILED);
    expect(pipelineFailure?.message).toContain('failed at step "publish" after 1 attempt(s): fuel_exhausted:');
    expect((pipelineFailure?.cause as ApplicationFailure | undefined)?.type).toBe('fuel_exhausted');

    const description = await handle.describe();
    expect(description.status.name).toBe('FAILED');
    expect(await description.staticSummary()).toMatch(/^Capsule pipeline research · 5 steps · input sha256:[0-9a-f]{12}$/);
    const details = await description.staticDetails();
    expect(details).toContain('| draft | draft (tasks.ts#draft) | compute MEDIUM, ram 64MB, timeout 90s | 0 | 10 | search, notes |');
    expect(details).toContain('| notes | notes (tasks.ts#notes) | compute LOW, ram 64MB, timeout 10s | 2 |');

    const memo = description.memo?.capsule as { totals: { fuel_consumed: number } } | undefined;
    expect(memo).toMatchObject({ pipeline: 'research', status: 'Failed', failedStep: 'publish', counts: { succeeded: 6, failed: 1 }, totals: { steps: 7, retries: 1, lost_attempts: 0 } });
    const attributes = Object.fromEntries(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attributes).toEqual(expect.objectContaining({ CapsulePipeline: 'research', CapsuleStatus: 'Failed', CapsuleFailedStep: 'publish', CapsuleFuel: memo?.totals.fuel_consumed }));
    const found = await waitFor(`${QUERY} in visibility`, async () => {
      const ids: string[] = [];
      for await (const execution of stack.client.workflow.list({ query: QUERY })) ids.push(execution.workflowId);
      return ids.includes(handle.workflowId) ? ids : undefined;
    });
    expect(found).toEqual([handle.workflowId]);
    // All four attributes are typed and searchable (the queries docs/ui.md shows).
    const narrowed: string[] = [];
    for await (const execution of stack.client.workflow.list({ query: `${QUERY} AND CapsuleStatus="Failed" AND CapsuleFailedStep="publish" AND CapsuleFuel > 1000000` })) narrowed.push(execution.workflowId);
    expect(narrowed).toEqual([handle.workflowId]);

    // History: every step's activity carries its summary; the failed step's failure has the error_type and envelope.
    const events = (await handle.fetchHistory()).events ?? [];
    const summaries = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [decode<string>(e.userMetadata?.summary)] : []));
    expect(summaries.sort()).toEqual([...SUMMARIES].sort());
    const failed = events.map((e) => e.activityTaskFailedEventAttributes?.failure).filter((f): f is temporal.api.failure.v1.IFailure => f != null);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.applicationFailureInfo?.type).toBe('fuel_exhausted');
    const envelope = decode<RunTaskResult>(failed[0]?.applicationFailureInfo?.details?.payloads?.[0]);
    expect(envelope?.error?.error_type).toBe('fuel_exhausted');
    expect(envelope?.execution.task_name).toBe('publish');

    // Current details are served by a built-in query (the UI asks the same one).
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('| step | status | attempts | lost | duration | fuel | notes |');
    expect(metadata.currentDetails).toMatch(/\| notes \| succeeded \| 2 \| 0 \| \d+ ms \| [\d,]+ \| {2}\|/);
    expect(metadata.currentDetails).toMatch(/\| publish \| failed \| 1 \| 0 \| \d+ ms \| [\d,]+ \| fuel_exhausted: the task used its whole fuel budget/);
  });

  it('in the browser: finds the run by CapsulePipeline, shows step summaries, the step table and the failure type', async () => {
    const { page } = stack;
    await page.goto(`${stack.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(QUERY)}`);
    const row = page.getByRole('link', { name: handle.workflowId, exact: true }).first();
    await visible(row);
    await stack.screenshot('3-search-by-pipeline');
    await row.click();
    await page.waitForURL(/\/(history|timeline)$/);

    // The timeline labels each activity with its summary; notes shows its second attempt.
    await page.goto(`${runUrl}/timeline`);
    for (const summary of SUMMARIES) await visible(page.getByText(summary).first());
    await visible(page.getByText(/2 • runTask • notes · notes/).first());
    await stack.screenshot('4-timeline');
    await page.goto(`${runUrl}/history`);
    // The failure view (the workflow's result panel, maximized so all of it renders): the step's error_type as the
    // cause of the pipeline's failure.
    await page.getByRole('button', { name: 'Maximize' }).last().click();
    await visible(page.getByText('"type": "fuel_exhausted"').first());
    await visible(page.getByText(/failed at step \\"publish\\" after 1 attempt\(s\): fuel_exhausted/).first());
    await stack.screenshot('5-history-failure');
    await page.keyboard.press('Escape');

    // The failed step's own event: its failure carries the envelope in details.
    await page.getByText('Activity Task Failed').first().click();
    // The expanded event shows its failure in a code view that renders the lines in view only: scroll down to it.
    const envelopeLine = page.getByText('"error_type": "fuel_exhausted"').first();
    await waitFor('the failed step\'s envelope in its failure details', async () => {
      if (await envelopeLine.isVisible()) return true;
      await page.mouse.wheel(0, 400);
      return undefined;
    }, 20_000);
    await envelopeLine.scrollIntoViewIfNeeded();
    await stack.screenshot('6-activity-failure-envelope');

    await page.goto(`${runUrl}/user-metadata`);
    await visible((await markdownFrame(page, 'Capsule pipeline research')).getByText(/^Capsule pipeline research · 5 steps · input sha256:[0-9a-f]{12}$/));
    const details = await markdownFrame(page, 'maxRetries');
    await visible(details.getByRole('row').filter({ hasText: 'draft (tasks.ts#draft)' }).filter({ hasText: 'compute MEDIUM, ram 64MB, timeout 90s' }));
    const rows = await currentDetailsRows(page, (r) => r.some((cells) => cells[0] === 'publish' && cells[1] === 'failed'));
    expect(rows.map((r) => r.slice(0, 4)).sort()).toEqual([
      ['plan', 'succeeded', '1', '0'],
      ['notes', 'succeeded', '2', '0'],
      ['search[0]', 'succeeded', '1', '0'],
      ['search[1]', 'succeeded', '1', '0'],
      ['search[2]', 'succeeded', '1', '0'],
      ['draft', 'succeeded', '1', '0'],
      ['publish', 'failed', '1', '0'],
    ].sort());
    expect(rows.find((r) => r[0] === 'publish')?.[6]).toMatch(/^fuel_exhausted: /);
    await stack.screenshot('7-user-metadata');

    await page.goto(`${runUrl}/memo`);
    await visible(page.getByText('"failedStep": "publish"').first());
    await visible(page.getByText('"succeeded": 6').first());
    await page.goto(`${runUrl}/search-attributes`);
    await visible(page.getByText('"CapsuleFailedStep": "publish"').first());
    await visible(page.getByText('"CapsulePipeline": "research"').first());
  });
});

/** Runs a CLI command in-process against this test's server (TEMPORAL_ADDRESS and CAPSULE_UI_URL, as a user would set them). */
async function runCommand(name: string, command: (io: CommandIo) => Promise<number>): Promise<{ name: string; code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const env = { ...process.env, TEMPORAL_ADDRESS: stack.server.address, CAPSULE_UI_URL: stack.uiUrl, CAPSULE_TASK_QUEUE: stack.taskQueue };
  const code = await command({ cwd: stack.baseDir, out: (t) => out.push(t), err: (t) => err.push(t), tty: false, env });
  return { name, code, out, err };
}

function cliOutput(result: { name: string; code: number; out: string[]; err: string[] }): string {
  if (result.code !== 0) throw new Error(`capsule ${result.name} exited ${result.code}: ${result.err.join('\n')}`);
  return result.out.join('\n');
}

function decode<T>(payload: temporal.api.common.v1.IPayload | null | undefined): T | undefined {
  return payload == null ? undefined : defaultPayloadConverter.fromPayload<T>(payload);
}

/** Waits until the locator is visible on screen (not merely in the DOM); on failure, keeps a screenshot of the page. */
async function visible(locator: Locator): Promise<void> {
  try {
    await locator.waitFor({ state: 'visible' });
  } catch (error) {
    const file = await stack.screenshot(`failed-${Date.now()}`);
    throw new Error(`${String(locator)} is not visible on ${stack.page.url()} (screenshot: ${file})`, { cause: error });
  }
}

/**
 * The UI renders each Markdown field (summary, details, current details) in its own iframe; this finds the one whose
 * text contains `text`.
 */
async function markdownFrame(page: Page, text: string): Promise<FrameLocator> {
  return waitFor(`a Markdown panel containing "${text}"`, async () => {
    for (const iframe of await page.locator('iframe[title="output"]').all()) {
      const frame = iframe.contentFrame();
      if ((await frame.getByText(text).count()) > 0) return frame;
    }
    return undefined;
  }, 20_000);
}

/**
 * The cells of the "Current Details" table (the one with a "duration" column: the static details' table has none),
 * once `ready` holds. The UI fetches current details with a query, so the page is reloaded until the table shows the
 * state the test expects.
 */
async function currentDetailsRows(page: Page, ready: (rows: string[][]) => boolean): Promise<string[][]> {
  return waitFor('the current details table', async () => {
    const table = (await markdownFrame(page, 'duration')).locator('table');
    await visible(table);
    const rows: string[][] = [];
    for (const row of await table.locator('tbody tr').all()) rows.push((await row.locator('td').allInnerTexts()).map((t) => t.trim()));
    if (ready(rows)) return rows;
    await page.reload();
    return undefined;
  }, 30_000);
}
