/**
 * Task code is stored once per workflow, in its input (content-addressed by sha256); each step's activity input
 * names the bundle only. A worker that lacks the code reads the workflow's first history event once and caches it.
 * This keeps histories small (a 500-item fan-out does not repeat the bundle 500 times) while any worker can still
 * run any step, and the sha256 is checked so the code that runs is exactly the code the history names.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodePayload } from '../payloads/data-converter.js';
import { PromiseCache } from '../promise-cache.js';
import type { RunContext } from '../workflows/shared.js';

const MAX_CACHED_BUNDLES = 64;

export interface WorkflowRef {
  namespace: string;
  workflowId: string;
  runId: string;
}

export class BundleSource {
  private readonly cache = new PromiseCache<string, string>(MAX_CACHED_BUNDLES);

  /** The bundle's code: from the cache, else from the workflow's input in its history. */
  code(sha256: string, client: Client, workflow: WorkflowRef): Promise<string> {
    return this.cache.get(sha256, () => fetchFromHistory(sha256, client, workflow));
  }
}

async function fetchFromHistory(sha256: string, client: Client, workflow: WorkflowRef): Promise<string> {
  const response = await client.workflowService.getWorkflowExecutionHistory({
    namespace: workflow.namespace,
    execution: { workflowId: workflow.workflowId, runId: workflow.runId },
    maximumPageSize: 1,
  });
  const payload = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (payload === undefined || payload === null) throw new Error(`workflow ${workflow.workflowId} has no input to read bundle ${sha256} from`);
  // The input is claim-checked and encoded like any payload: decode it as the SDK would (the worker's converter).
  const input = await decodePayload<Partial<RunContext>>(client.options.loadedDataConverter, payload);
  const code = input.bundles?.[sha256]?.code;
  if (typeof code !== 'string') throw new Error(`workflow ${workflow.workflowId}'s input has no bundle ${sha256}`);
  const actual = createHash('sha256').update(code).digest('hex');
  if (actual !== sha256) throw new Error(`bundle ${sha256} in workflow ${workflow.workflowId} hashes to ${actual}`);
  return code;
}
