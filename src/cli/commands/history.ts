/**
 * `capsule history <workflowId>`: the workflow's event history, one line per event (steps with their attempt and
 * outcome), or with --json the full history as Temporal exports it (usable for replay tests).
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import type { CommandIo } from '../../client/io.js';
import { forTerminal } from '../../client/terminal-text.js';
import { withWorkflow } from './with-workflow.js';

// @temporalio/proto is CommonJS: named ESM imports of its values fail under Node, the default import works.
const { EventType } = proto.temporal.api.enums.v1;

export interface HistoryOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export function history(options: HistoryOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io }) => {
    const events = (await handle.fetchHistory()).events ?? [];
    if (options.json) {
      // Temporal's canonical (proto3) JSON, as `temporal workflow show --output json` writes it: usable for replay.
      io.out(JSON.stringify(JSON.parse(historyToJSON({ events })), null, 2));
      return 0;
    }
    for (const event of events) io.out(forTerminal(describeEvent(event)));
    return 0;
  });
}

function describeEvent(event: temporal.api.history.v1.IHistoryEvent): string {
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
  return `${String(event.eventId)}\t${time}\t${type}${note === '' ? '' : `\t${note}`}`;
}
