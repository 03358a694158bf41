/** Following a run to its end, shared by `run`, `start` and `watch`: live progress (or quiet with --json) until it closes or Ctrl-C detaches. */
import type { WorkflowHandle } from '@temporalio/client';
import type { CommandIo } from '../io.js';
import { awaitOutcome, outcomeJson } from '../../client/outcome.js';
import { formatOutcome } from '../format-outcome.js';
import { showProgress } from '../progress.js';
import { stepEnvelopes } from '../../client/step-envelopes.js';

export interface FollowOptions {
  json: boolean;
  io: CommandIo;
  /** Resolves on Ctrl-C: detach, never cancel. */
  interrupted: Promise<void>;
  uiUrl: string | undefined;
  onDetach?: () => void;
}

/**
 * What `capsule run` and `capsule start` do once the workflow is started: with `--detach`, say how to follow it
 * (or print its id as JSON) and return; otherwise follow it.
 */
export async function followOrDetach(handle: WorkflowHandle, options: FollowOptions & { detach: boolean }): Promise<number> {
  const { io, uiUrl, json } = options;
  const id = handle.workflowId;
  if (options.detach) {
    if (json) io.out(JSON.stringify({ workflowId: id, status: 'running', steps: [], ...(uiUrl === undefined ? {} : { uiUrl }) }));
    else io.out(`submitted ${id}; follow it with: capsule watch ${id}`);
    return 0;
  }
  return follow(handle, options);
}

/** Exit code: 0 succeeded or detached, 1 the pipeline did not succeed. */
export async function follow(handle: WorkflowHandle, options: FollowOptions): Promise<number> {
  const { io, json, uiUrl } = options;
  const abandon = new AbortController();
  const done = awaitOutcome(handle, abandon.signal);
  const detached = json
    ? await Promise.race([done.then(() => false), options.interrupted.then(() => true)])
    : await showProgress(handle, done, { tty: io.tty, write: io.err, stop: options.interrupted });
  if (detached) {
    // Stop waiting before the connection closes: a pending long-poll would otherwise fail after it.
    abandon.abort();
    await done.catch(() => undefined);
    options.onDetach?.();
    return 0;
  }
  const outcome = await done;
  if (json) {
    const envelopes = outcome.result === undefined ? new Map() : await stepEnvelopes(handle.client, handle.workflowId, outcome.result.steps);
    io.out(JSON.stringify(outcomeJson(outcome, uiUrl, envelopes)));
  } else {
    io.out(formatOutcome(outcome, uiUrl));
  }
  return outcome.status === 'succeeded' ? 0 : 1;
}
