/**
 * `capsule result <workflowId> [--step ID] [--out FILE]`: waits for the pipeline to close and prints its result
 * (exit 1 if it failed). Full values come back from the blob store: `--out` writes the pipeline's output whole, as
 * JSON; `--step` prints one step's full envelope (no waiting: any finished step, in any run of a continued loop),
 * and with `--out` writes that step's result.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowClient } from '@temporalio/client';
import { formatBytes } from '../../config/units.js';
import type { CommandIo } from '../io.js';
import { awaitOutcome, outcomeJson } from '../../client/outcome.js';
import { formatOutcome } from '../format-outcome.js';
import { findStepEnvelope, stepEnvelopes } from '../../client/step-envelopes.js';
import { formatEnvelope } from '../format.js';
import { withWorkflow } from './with-workflow.js';

export interface ResultOptions {
  workflowId: string;
  json?: boolean;
  /** A step's record id ("fetch", "fetch[2]"): print its full envelope instead of the pipeline's result. */
  step?: string;
  /** Write the full value (the pipeline's output, or the step's result) to this file as JSON. */
  out?: string;
  io?: CommandIo;
}

export function result(options: ResultOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, backend, io, uiUrl }) => {
    await handle.describe();
    const outFile = options.out === undefined ? undefined : path.resolve(io.cwd, options.out);
    if (options.step !== undefined) return stepResult(backend.client.workflow, options.workflowId, options.step, outFile, options.json === true, io);
    const outcome = await awaitOutcome(handle);
    let note: string | undefined;
    if (outFile !== undefined && outcome.result !== undefined && outcome.status === 'succeeded') note = `written to ${outFile} (${writeJson(outFile, outcome.result.output)})`;
    if (options.json) {
      const envelopes = outcome.result === undefined ? new Map() : await stepEnvelopes(backend.client.workflow, options.workflowId, outcome.result.steps);
      io.out(JSON.stringify(outcomeJson(outcome, uiUrl, envelopes)));
    } else {
      io.out(formatOutcome(outcome, uiUrl, note));
    }
    return outcome.status === 'succeeded' ? 0 : 1;
  });
}

async function stepResult(client: WorkflowClient, workflowId: string, stepId: string, outFile: string | undefined, json: boolean, io: CommandIo): Promise<number> {
  const envelope = await findStepEnvelope(client, workflowId, stepId);
  if (envelope === undefined) {
    io.err(`error: workflow ${workflowId} has no finished step "${stepId}" (record ids are step ids, "step[index]" for forEach items; see: capsule status ${workflowId})`);
    return 2;
  }
  if (outFile !== undefined) {
    const size = writeJson(outFile, envelope.result);
    io.err(`step ${stepId}: result written to ${outFile} (${size})`);
  } else {
    io.out(json ? JSON.stringify(envelope) : formatEnvelope(envelope, io.tty));
  }
  return envelope.success ? 0 : 1;
}

function writeJson(file: string, value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  writeFileSync(file, text);
  return formatBytes(Buffer.byteLength(text));
}
