/**
 * A person's decision on an approval step, sent as the run's `approve` Update (workflows/approvals.ts answers it).
 * The update's validator refuses a step that is not an approval step, is not waiting, or was already decided; that
 * refusal comes back as an ApprovalRefusedError with the run's own words. One function for `capsule approve` and
 * the MCP `approve` tool.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { APPROVE_UPDATE, type ApprovalDecision, type ApproveArgs } from '../workflows/shared.js';
import { ApprovalRefusedError } from './errors.js';

export async function approveStep(handle: WorkflowHandle, args: ApproveArgs): Promise<ApprovalDecision> {
  try {
    return await handle.executeUpdate<ApprovalDecision, [ApproveArgs]>(APPROVE_UPDATE, { args: [args] });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      throw new ApprovalRefusedError(`${handle.workflowId}: ${error.cause.message}`);
    }
    // The server answers an update to a closed run as if the run did not exist: say what happened instead.
    if (error instanceof WorkflowNotFoundError) {
      const state = await handle.describe().then((d) => d.status.name, () => undefined);
      if (state !== undefined && state !== 'RUNNING') throw new ApprovalRefusedError(`${handle.workflowId} has already finished (${state}): no step waits for a decision`);
    }
    throw error;
  }
}
