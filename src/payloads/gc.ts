/**
 * `capsule gc`: removes blobs no run needs any more, by mark and sweep.
 *
 * Mark: every workflow run of the namespace that is open, or closed within the retention period (visibility
 * query), has its history read and every claim-check reference in it (inputs, results, failures, memos,
 * heartbeats of pending activities) is kept.
 * Sweep: every other blob is deleted — unless it was written or touched within the grace period, which covers a
 * value stored a moment ago whose reference is not in history yet (a workflow being started, an activity
 * completing). Nothing is deleted if any part of the mark fails.
 *
 * A blob store serves one namespace: gc of one namespace would delete another's blobs in a shared store.
 */
import { WorkflowNotFoundError, type WorkflowClient } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { visit, walkDescribeWorkflowExecutionResponse, walkGetWorkflowExecutionHistoryResponse } from '@temporalio/common/lib/internal-non-workflow/index.js';
import proto from '@temporalio/proto';
import type { BlobStore } from './blob-store.js';
import { claimOf } from './data-converter.js';

export interface GcOptions {
  client: WorkflowClient;
  store: BlobStore;
  /** Keep blobs of runs closed less than this long ago. */
  retentionMs: number;
  /** Never delete a blob written or touched less than this long ago. */
  graceMs: number;
  /** List what would go without deleting anything. */
  dryRun?: boolean;
  now?: Date;
}

export interface GcReport {
  runs: number;
  blobs: number;
  referenced: number;
  /** Unreferenced but inside the grace period. */
  recent: number;
  deleted: number;
  deletedBytes: number;
  /** Addresses deleted (or, with dryRun, that would be). */
  addresses: string[];
}

export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const now = options.now ?? new Date();
  const since = new Date(now.getTime() - options.retentionMs).toISOString();
  const referenced = new Set<string>();
  let runs = 0;
  // Raw protos throughout: gc reads references, never values, so it needs no key and no blob (a run encrypted with
  // a key this process lacks still has its references counted).
  for await (const run of listRuns(options.client, `ExecutionStatus = "Running" OR CloseTime > "${since}"`)) {
    runs++;
    let history;
    try {
      history = await options.client.getHandle(run.workflowId, run.runId).fetchHistory();
    } catch (error) {
      // Deleted by the namespace's own retention since it was listed: nothing can read its references any more.
      if (error instanceof WorkflowNotFoundError) continue;
      throw error;
    }
    await collectReferences({ history }, walkGetWorkflowExecutionHistoryResponse, referenced);
    if (run.running) {
      const description = await options.client.workflowService.describeWorkflowExecution({ namespace: options.client.options.namespace, execution: { workflowId: run.workflowId, runId: run.runId } });
      await collectReferences(description, walkDescribeWorkflowExecutionResponse, referenced);
    }
  }

  const report: GcReport = { runs, blobs: 0, referenced: 0, recent: 0, deleted: 0, deletedBytes: 0, addresses: [] };
  const graceStart = now.getTime() - options.graceMs;
  for await (const blob of options.store.list()) {
    report.blobs++;
    if (referenced.has(blob.address)) report.referenced++;
    else if (blob.touchedAt.getTime() > graceStart) report.recent++;
    else {
      report.addresses.push(blob.address);
      report.deletedBytes += blob.size;
    }
  }
  report.deleted = options.dryRun ? 0 : await options.store.delete(report.addresses);
  return report;
}

/** Every run the visibility query matches, page by page. */
async function* listRuns(client: WorkflowClient, query: string): AsyncIterable<{ workflowId: string; runId: string; running: boolean }> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query, pageSize: 1000, ...(nextPageToken === undefined ? {} : { nextPageToken }) });
    for (const info of page.executions ?? []) {
      const { workflowId, runId } = info.execution ?? {};
      if (workflowId && runId) yield { workflowId, runId, running: info.status === proto.temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING };
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken !== undefined);
}

/** Adds the blob address of every claim-check reference in `root` (a proto message) to `into`. */
async function collectReferences<Root>(root: Root, walk: Parameters<typeof visit<Root>>[1], into: Set<string>): Promise<void> {
  const note = (payload: Payload) => {
    const claim = claimOf(payload);
    if (claim !== undefined) into.add(claim.sha256);
  };
  await visit(root, walk, {
    transformPayload: async (payload) => {
      note(payload);
      return payload;
    },
    transformPayloads: async (payloads) => {
      payloads.forEach(note);
      return payloads;
    },
  });
}
