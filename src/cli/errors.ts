/** Failures of the command line itself. */
import { CapsuleError } from '../errors.js';

/** A command was given options it cannot use (conflicting, unreadable, malformed): printed as one line, exit code 2. */
export class UsageError extends CapsuleError {
  override readonly name = 'UsageError';
}
