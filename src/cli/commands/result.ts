/** `capsule result <workflowId>`: waits for the pipeline to close and prints its result (exit 1 if it failed). */
import type { CommandIo } from '../../client/io.js';
import { awaitOutcome, formatOutcome, outcomeJson } from '../../client/outcome.js';
import { withWorkflow } from './with-workflow.js';

export interface ResultOptions {
  workflowId: string;
  json?: boolean;
  io?: CommandIo;
}

export function result(options: ResultOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io, uiUrl }) => {
    await handle.describe();
    const outcome = await awaitOutcome(handle);
    io.out(options.json ? JSON.stringify(outcomeJson(outcome, uiUrl)) : formatOutcome(outcome, uiUrl));
    return outcome.status === 'succeeded' ? 0 : 1;
  });
}
