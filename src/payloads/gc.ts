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
import type { WorkflowClient } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { visit, walkDescribeWorkflowExecutionResponse, walkGetWorkflowExecutionHistoryResponse } from '@temporalio/common/lib/internal-non-workflow/index.js';
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
  for await (const run of options.client.list({ query: `ExecutionStatus = "Running" OR CloseTime > "${since}"` })) {
    runs++;
    const handle = options.client.getHandle(run.workflowId, run.runId);
    let history;
    try {
      history = await handle.fetchHistory();
    } catch (error) {
      // Deleted by the namespace's own retention since it was listed: nothing can read its references any more.
      if (error instanceof Error && error.name === 'WorkflowNotFoundError') continue;
      throw error;
    }
    await collectReferences({ history }, walkGetWorkflowExecutionHistoryResponse, referenced);
    if (run.status.name === 'RUNNING') await collectReferences((await handle.describe()).raw, walkDescribeWorkflowExecutionResponse, referenced);
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
