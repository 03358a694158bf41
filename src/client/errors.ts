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
