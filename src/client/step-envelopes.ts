/**
 * Full step envelopes, read back from history: a workflow's result holds step summaries only, and each step's
 * envelope (result, stdout, stderr, requests) is its activity's result — or, when it failed, its failure's
 * details — under the activity id the record names. Claim-checked values are fetched from the blob store and
 * decoded through the client's data converter, as the SDK would.
 */
import type { WorkflowClient } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodePayload } from '../payloads/data-converter.js';
import type { RunTaskResult, StepRecord } from '../workflows/shared.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Envelopes of `records` (those that name their activity), by record id. */
export async function stepEnvelopes(client: WorkflowClient, workflowId: string, records: StepRecord[]): Promise<Map<string, RunTaskResult>> {
  const byRun = new Map<string, Set<string>>();
  for (const record of records) {
    if (record.activity === undefined) continue;
    const ids = byRun.get(record.activity.run_id) ?? new Set<string>();
    ids.add(record.activity.activity_id);
    byRun.set(record.activity.run_id, ids);
  }
  const envelopes = new Map<string, RunTaskResult>();
  for (const [runId, ids] of byRun) {
    const events = (await client.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    for (const [id, envelope] of await envelopesIn(client, events, ids)) envelopes.set(id, envelope);
  }
  return envelopes;
}

/**
 * The envelope of step `stepId` in the newest run of `workflowId` that has it: a loop that continued as new keeps
 * earlier turns in earlier runs, found by following each run back to the one it continued from.
 */
export async function findStepEnvelope(client: WorkflowClient, workflowId: string, stepId: string): Promise<RunTaskResult | undefined> {
  let runId: string | undefined = (await client.getHandle(workflowId).describe()).runId;
  while (runId !== undefined) {
    const events: HistoryEvent[] = (await client.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const found = (await envelopesIn(client, events, new Set([stepId]))).get(stepId);
    if (found !== undefined) return found;
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return undefined;
}

async function envelopesIn(client: WorkflowClient, events: HistoryEvent[], wanted: Set<string>): Promise<Map<string, RunTaskResult>> {
  const converter = client.options.loadedDataConverter;
  const scheduled = new Map<string, string>();
  const found = new Map<string, RunTaskResult>();
  for (const event of events) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule?.activityId && wanted.has(schedule.activityId)) scheduled.set(String(event.eventId), schedule.activityId);
    const completed = event.activityTaskCompletedEventAttributes;
    const failed = event.activityTaskFailedEventAttributes;
    const id = scheduled.get(String(completed?.scheduledEventId ?? failed?.scheduledEventId));
    if (id === undefined) continue;
    const payload = completed?.result?.payloads?.[0] ?? failed?.failure?.applicationFailureInfo?.details?.payloads?.[0];
    if (payload) found.set(id, await decodePayload<RunTaskResult>(converter, payload));
  }
  return found;
}
