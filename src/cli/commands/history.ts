/**
 * `capsule history <workflowId>`: the workflow's event history, one line per event (steps with their attempt and
 * outcome), or with --json the full history as Temporal exports it (usable for replay tests). Histories of any size:
 * events are read a page at a time (lines are printed as pages arrive), on a connection that accepts large responses.
 */
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import type { CommandIo } from '../io.js';
import { forTerminal } from '../terminal-text.js';
import { withWorkflow } from './with-workflow.js';

// @temporalio/proto is CommonJS: named ESM imports of its values fail under Node, the default import works.
const { EventType } = proto.temporal.api.enums.v1;

/** Events per page: a page of large events stays well inside the client's receive limit (src/client/connect.ts). */
const PAGE_SIZE = 100;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export function history(options: HistoryOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, backend, io }) => {
    await handle.describe(); // an unknown id fails here, as a WorkflowNotFoundError
    const pages = historyPages(backend.client, options.workflowId);
    if (options.json) {
      const events: HistoryEvent[] = [];
      for await (const page of pages) events.push(...page);
      // Temporal's canonical (proto3) JSON, as `temporal workflow show --output json` writes it: usable for replay.
      io.out(JSON.stringify(JSON.parse(historyToJSON({ events })), null, 2));
      return 0;
    }
    for await (const page of pages) io.out(page.map((event) => forTerminal(describeEvent(event))).join('\n'));
    return 0;
  });
}

/** The latest run's history, a page at a time. */
export async function* historyPages(client: Client, workflowId: string): AsyncGenerator<HistoryEvent[]> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const response = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId },
      maximumPageSize: PAGE_SIZE,
      ...(nextPageToken === undefined ? {} : { nextPageToken }),
    });
    const events = response.history?.events ?? [];
    if (events.length > 0) yield events;
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
}

function describeEvent(event: HistoryEvent): string {
  const type = String(EventType[event.eventType ?? 0] ?? event.eventType).replace(/^EVENT_TYPE_/, '');
  const time = event.eventTime?.seconds === undefined || event.eventTime.seconds === null ? '' : new Date(Number(event.eventTime.seconds) * 1000).toISOString();
  let note = '';
  const scheduled = event.activityTaskScheduledEventAttributes;
  if (scheduled) note = `runTask (activity ${scheduled.activityId}, max attempts ${scheduled.retryPolicy?.maximumAttempts ?? '?'})`;
  const started = event.activityTaskStartedEventAttributes;
  if (started) note = `attempt ${started.attempt}`;
  const failed = event.activityTaskFailedEventAttributes?.failure;
  if (failed) note = `${failed.applicationFailureInfo?.type ?? ''}: ${failed.message ?? ''}`;
  const timedOut = event.activityTaskTimedOutEventAttributes?.failure;
  if (timedOut) note = timedOut.message ?? '';
  const wfFailed = event.workflowExecutionFailedEventAttributes?.failure;
  if (wfFailed) note = wfFailed.message ?? '';
  const terminated = event.workflowExecutionTerminatedEventAttributes;
  if (terminated) note = terminated.reason ?? '';
  return `${String(event.eventId)}\t${time}\t${type}${note === '' ? '' : `\t${note}`}`;
}
