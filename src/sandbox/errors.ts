/**
 * Failures of the sandbox layer that are not a run's outcome (a run's failure is an envelope, never an exception):
 * bundling a task file, and a machine too busy to read a task's options.
 */
import { CapsuleError } from '../errors.js';

/** A task file cannot become a bundle: missing, of an unknown language, or its code or imports refused; names the file. */
export class BundleError extends CapsuleError<Error> {
  override readonly name = 'BundleError';
  constructor(readonly file: string, readonly detail: string, cause?: Error) {
    super(`${file}: ${detail}`, cause);
  }
}

/** A Python task or a local module it imports cannot be collected (unreadable, too many or too large files). */
export class PythonBundleError extends CapsuleError<Error> {
  override readonly name = 'PythonBundleError';
}

/** A file the bundler would read is not a regular file inside what the task owns (its directory, its declared packages). */
export class ConfinedReadError extends CapsuleError {
  override readonly name = 'ConfinedReadError';
}

/** Reading a task file's options ran into the wall-clock backstop although its code stayed within its fuel. */
export class SandboxBusyError extends CapsuleError {
  override readonly name = 'SandboxBusyError';
}

/** A host-side call on a granted directory (an MCP session's files) cannot be done: `code` is the errno name (ENOENT, EACCES, ENOSPC, ...); the message names the path as given. */
export class DirectoryAccessError extends CapsuleError {
  override readonly name = 'DirectoryAccessError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
