/** Failures of reaching Temporal: the connection settings and the server binary. */
import { CapsuleError } from '../errors.js';

/** A connection setting (environment or capsule.toml [temporal]) is missing, malformed or names a missing file. */
export class ConnectionConfigError extends CapsuleError {
  override readonly name = 'ConnectionConfigError';
}

/** No usable Temporal CLI for the embedded dev server; the message lists where Capsule looked and how to install one. */
export class BinaryNotFoundError extends CapsuleError {
  override readonly name = 'BinaryNotFoundError';
}

/** The run refused a decision (`capsule approve`): not an approval step, not waiting, or already decided. */
export class ApprovalRefusedError extends CapsuleError {
  override readonly name = 'ApprovalRefusedError';
}

/** A workflows file (`--workflows`, `workflowsPath`) is missing or is not a TypeScript or JavaScript module. */
export class WorkflowsFileError extends CapsuleError {
  override readonly name = 'WorkflowsFileError';

  constructor(readonly file: string, readonly detail: string) {
    super(`workflows file ${file}: ${detail}`);
  }
}

/** A workflow type to start is not one the workers' workflows export; nothing was started. */
export class UnknownWorkflowTypeError extends CapsuleError {
  override readonly name = 'UnknownWorkflowTypeError';
}

/** The Temporal server at the resolved address does not answer; the message names the address and where it came from. */
export class ServerUnreachableError extends CapsuleError<Error> {
  override readonly name = 'ServerUnreachableError';
}
