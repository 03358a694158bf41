/**
 * `capsule approve <workflowId> <stepId> [--reject] [--comment TEXT] [--by NAME]`: decides a waiting approval step.
 * The step's output becomes `{ approved, by, comment, at }`; `by` defaults to the user running the command.
 */
import { approveStep } from '../../client/approve.js';
import { withWorkflow } from './with-workflow.js';
import type { CommandIo } from '../io.js';
import { forTerminal } from '../terminal-text.js';

export interface ApproveOptions {
  workflowId: string;
  stepId: string;
  reject?: boolean;
  comment?: string;
  by?: string;
  io?: CommandIo;
}

export function approve(options: ApproveOptions): Promise<number> {
  return withWorkflow(options, async ({ handle, io }) => {
    const by = options.by ?? io.env.USER ?? io.env.USERNAME;
    const decision = await approveStep(handle, {
      stepId: options.stepId,
      approved: options.reject !== true,
      ...(by === undefined || by === '' ? {} : { by }),
      ...(options.comment === undefined ? {} : { comment: options.comment }),
    });
    io.out(forTerminal(`${options.workflowId}: step ${options.stepId} ${decision.approved ? 'approved' : 'rejected'}${decision.by === null ? '' : ` by ${decision.by}`} at ${decision.at}`));
    return 0;
  });
}
