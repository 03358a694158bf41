/**
 * `run_pipeline`, `get_run` and `approve`: durable pipelines on Temporal (mcp/pipelines.ts finds the server); `approve`
 * decides a waiting approval step through the run's `approve` update, as `capsule approve` does.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ApprovalRefusedError, BinaryNotFoundError, ConnectionConfigError } from '../../client/errors.js';
import { ConfigError, MountError, TaskOptionsError } from '../../config/errors.js';
import { BlobStoreError, PayloadConfigError, PayloadKeyError } from '../../payloads/errors.js';
import { PipelineError } from '../../pipeline/errors.js';
import { BundleError } from '../../sandbox/errors.js';
import { formatBytes, formatCount, formatDuration } from '../../config/units.js';
import type { ErrorType } from '../../sandbox/index.js';
import type { StepRecord } from '../../workflows/shared.js';
import type { McpContext } from '../context.js';
import { ToolError } from '../errors.js';
import { envelopeResult, errorResult, okResult } from '../results.js';
import type { RunView } from '../pipelines.js';

const MAX_WAIT_S = 60;

export function registerPipelineTools(server: McpServer, context: McpContext): void {
  const { pipelines, settings } = context;
  const { ceilings } = settings;
  const guarded = async (action: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      return await action();
    } catch (error) {
      const problem = userProblem(error);
      if (problem === undefined) throw error;
      return errorResult(problem.errorType, withoutDirectory(problem.message, settings.directory));
    }
  };

  server.registerTool(
    'run_pipeline',
    {
      title: 'Start a pipeline',
      description: [
        'Starts a durable Capsule pipeline on Temporal and returns at once with its workflow id and a Web UI link; follow it with get_run.',
        'Give either `pipeline`, the path of a pipeline file (.yaml, .yml, .json) or task file in the server\'s directory, or `definition`, a pipeline written inline (YAML or JSON text, or an object): `{ name, steps: [{ id, task: "./tasks/x.ts", input: "{{ input }}" }], output? }`, with task paths relative to the server\'s directory. `input` replaces the pipeline\'s default input.',
        `Each step runs in its own sandbox and must fit this server's ceilings (compute ${formatCount(ceilings.compute)} fuel, ram ${formatBytes(ceilings.ram)}, timeout ${formatDuration(ceilings.timeout)}, hosts: ${ceilings.allowedHosts.join(', ') || 'none'}, files read-only, no secrets), or the pipeline is refused before it starts.`,
        ceilings.files ? '' : 'This server shares no directory, so it has no pipelines to run.',
      ].filter(Boolean).join('\n\n'),
      inputSchema: {
        pipeline: z.string().min(1).max(4096).optional().describe('Path of a pipeline or task file, relative to the server\'s directory.'),
        definition: z.union([z.string().min(1).max(1024 * 1024), z.record(z.string(), z.unknown())]).optional().describe('An inline pipeline: YAML or JSON text, or an object.'),
        input: z.unknown().optional().describe('The pipeline\'s input (any JSON value); steps read it as {{ input }}.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: ceilings.allowedHosts.length > 0 },
    },
    ({ pipeline, definition, input }) => guarded(async () => {
      if ((pipeline === undefined) === (definition === undefined)) return errorResult('invalid_task', 'give either `pipeline` (a file) or `definition` (an inline pipeline), not both and not neither');
      const started = await pipelines.start(pipeline !== undefined ? { file: pipeline } : { definition: definition! }, input);
      const text = [`started pipeline ${started.pipeline}: workflow ${started.workflowId}`, started.uiUrl ? `Web UI: ${started.uiUrl}` : '', `steps: ${started.steps.join(', ')}`, `follow it with get_run { "workflow_id": "${started.workflowId}" }`].filter(Boolean).join('\n');
      return okResult({ workflow_id: started.workflowId, pipeline: started.pipeline, status: 'running', steps: started.steps, ...(started.uiUrl === undefined ? {} : { ui_url: started.uiUrl }) }, text);
    }),
  );

  server.registerTool(
    'get_run',
    {
      title: 'A pipeline run\'s state',
      description: [
        'The state of a pipeline started with run_pipeline: status (running, succeeded, failed, cancelled, terminated, timed_out), one record per step (status, attempts, figures, error) and, once it has finished, the pipeline\'s output.',
        `wait_seconds (up to ${MAX_WAIT_S}) waits for the run to finish first. With \`step\` (a step id, "step[2]" for one item of a forEach step), returns that finished step's full envelope instead: its result, stdout and stderr.`,
      ].join('\n\n'),
      inputSchema: {
        workflow_id: z.string().min(1).max(1000).describe('The workflow id run_pipeline returned.'),
        step: z.string().min(1).max(1000).optional().describe('A step id: return that step\'s full envelope.'),
        wait_seconds: z.number().min(0).max(MAX_WAIT_S).optional().describe(`Wait up to this long for the run to finish (default 0, at most ${MAX_WAIT_S}).`),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ workflow_id, step, wait_seconds }, extra) => guarded(async () => {
      if (step !== undefined) return envelopeResult(await pipelines.stepEnvelope(workflow_id, step), settings.maxOutputBytes);
      return viewResult(await pipelines.view(workflow_id, Math.round((wait_seconds ?? 0) * 1000), extra.signal), settings.maxOutputBytes);
    }),
  );

  server.registerTool(
    'approve',
    {
      title: 'Decide an approval step',
      description: 'Approves (or, with approved: false, rejects) a pipeline step that waits for a person: get_run lists it as awaiting_approval with its prompt. The step\'s output becomes { approved, by, comment, at }. Refused when the step is not an approval step of the run, is not waiting yet, or was already decided.',
      inputSchema: {
        workflow_id: z.string().min(1).max(1000).describe('The workflow id run_pipeline returned.'),
        step: z.string().min(1).max(1000).describe('The approval step\'s id.'),
        approved: z.boolean().describe('true to approve, false to reject.'),
        comment: z.string().max(4000).optional(),
        by: z.string().max(200).optional().describe('Who decides (recorded with the decision).'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ workflow_id, step, approved, comment, by }) => guarded(async () => {
      const decision = await pipelines.approve(workflow_id, { stepId: step, approved, ...(comment === undefined ? {} : { comment }), ...(by === undefined ? {} : { by }) });
      return okResult({ workflow_id, step, ...decision }, `${workflow_id}: step ${step} ${decision.approved ? 'approved' : 'rejected'} at ${decision.at}`);
    }),
  );
}

function viewResult(view: RunView, maxOutputBytes: number): CallToolResult {
  const { workflowId, uiUrl, ...rest } = view;
  const structured: Record<string, unknown> = { workflow_id: workflowId, ...rest, ...(uiUrl === undefined ? {} : { ui_url: uiUrl }) };
  const lines = [`workflow ${workflowId}: ${view.status}${'message' in view && view.message ? ` (${view.message})` : ''}`];
  if (view.steps === null) lines.push('(step progress needs a worker to answer; try again shortly)');
  else lines.push(...view.steps.map(stepLine));
  if ('output' in view) {
    const size = Buffer.byteLength(JSON.stringify(view.output) ?? 'null');
    if (size > maxOutputBytes) {
      delete structured.output;
      structured.output_bytes = size;
      lines.push(`output: ${formatBytes(size)}, more than this server returns (${formatBytes(maxOutputBytes)}); read the steps' results one by one with \`step\`, or have the pipeline write its output to files`);
    } else {
      lines.push(`output: ${JSON.stringify(view.output, null, 2)}`);
    }
  }
  if (uiUrl !== undefined) lines.push(`Web UI: ${uiUrl}`);
  return okResult(structured, lines.join('\n'));
}

function stepLine(step: StepRecord): string {
  const figures = step.execution === undefined ? '' : ` ${step.execution.duration_ms} ms, fuel ${formatCount(step.execution.fuel_consumed)}`;
  const problem = step.error ? `: ${step.error.error_type}: ${step.error.message}` : step.failure ? `: ${step.failure}` : '';
  const waiting = step.status === 'awaiting_approval' && step.approval !== undefined ? `: ${step.approval.prompt} (decide with approve)` : '';
  const skipped = step.reason === undefined ? '' : ` (${step.reason})`;
  return `- ${step.id}: ${step.status}${step.attempts > 1 ? ` after ${step.attempts} attempts` : ''}${figures}${problem}${waiting}${skipped}`;
}

type ErrorClass = abstract new (...args: never[]) => Error;
/** What the call named is wrong: the pipeline, a task file, its options or mounts, the project's capsule.toml. */
const CALL_ERRORS: readonly ErrorClass[] = [PipelineError, TaskOptionsError, BundleError, MountError, ConfigError, ApprovalRefusedError];
/** The server cannot reach or read what pipelines need: the payload store and keys, Temporal. */
const SERVER_ERRORS: readonly ErrorClass[] = [PayloadConfigError, PayloadKeyError, BlobStoreError, ConnectionConfigError, BinaryNotFoundError];

/** Errors a client can act on, by type; anything else is a bug and propagates (the SDK reports it as an error result). */
function userProblem(error: unknown): { errorType: ErrorType; message: string } | undefined {
  if (error instanceof ToolError) return { errorType: error.errorType, message: error.message };
  if (!(error instanceof Error)) return undefined;
  if (CALL_ERRORS.some((type) => error instanceof type)) return { errorType: 'invalid_task', message: error.message };
  if (SERVER_ERRORS.some((type) => error instanceof type)) return { errorType: 'internal_error', message: error.message };
  return undefined;
}

/** Messages about the server's files name them relative to its directory: its place on the host is not the client's business. */
function withoutDirectory(message: string, directory: string): string {
  return message.replaceAll(`${directory}/`, '').replaceAll(directory, '.');
}
