/** Failures of the host API (src/host) that are the caller's to fix; a run's own failure is never one of these. */
import { CapsuleError } from '../errors.js';
import type { Envelope } from '../sandbox/index.js';

/** `exec` was called with options that do not fit what it runs (limits given for a task file, a task a file lacks). */
export class ExecOptionsError extends CapsuleError {
  override readonly name = 'ExecOptionsError';
}

/** Code given as text cannot run as a program: no `main`, or code the runtime rejects; `envelope` says how. */
export class ProgramError extends CapsuleError {
  override readonly name = 'ProgramError';

  constructor(message: string, readonly envelope: Envelope) {
    super(message);
  }
}

/** The Capsule was used after close(). */
export class ClosedError extends CapsuleError {
  override readonly name = 'ClosedError';
}
