/** Whether any worker polls a task queue for workflow tasks now (the server's view of its pollers). */
import type { Client, WorkflowClient } from '@temporalio/client';
import proto from '@temporalio/proto';

// @temporalio/proto is CommonJS: named ESM imports of its values fail under Node, the default import works.
const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/**
 * A worker that still polls renews its long poll at least this often (a poll waits up to about a minute): an older
 * last access means nobody polls any more.
 */
const POLLER_FRESH_MS = 120_000;

export async function hasWorkflowPollers(client: Client | WorkflowClient, taskQueue: string): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (response.pollers ?? []).some((poller) => {
    const seconds = poller.lastAccessTime?.seconds;
    return seconds != null && now - Number(seconds) * 1000 < POLLER_FRESH_MS;
  });
}
