/**
 * The one table from failures to exit codes. Commands return a code (0 success, 1 the run or task failed); an error
 * class listed here is the user's to fix (a file, an option, the configuration, the machine) and prints as one
 * line with exit code 2; anything else is a bug and propagates to bin/capsule.js, which prints its stack and exits 1.
 * A new user-fixable failure is one more row.
 */
import { ApprovalRefusedError, BinaryNotFoundError, ConnectionConfigError, ServerUnreachableError, UnknownWorkflowTypeError, WorkflowsFileError } from '../client/errors.js';
import { ConfigError, DotenvError, MountError, TaskOptionsError } from '../config/errors.js';
import { McpSettingsError } from '../mcp/errors.js';
import { ObservabilityConfigError } from '../observability/errors.js';
import { BlobStoreError, PayloadConfigError, PayloadKeyError } from '../payloads/errors.js';
import { PipelineError } from '../pipeline/errors.js';
import { BundleError, SandboxBusyError } from '../sandbox/errors.js';
import { UsageError } from './errors.js';
import type { CommandIo } from './io.js';
import { forTerminal } from './terminal-text.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

type ErrorClass = abstract new (...args: never[]) => Error;

/** Failures the user can fix, each with a one-line message: exit code 2, no stack. */
const USER_ERRORS: readonly ErrorClass[] = [
  UsageError,
  PipelineError,
  TaskOptionsError,
  BundleError,
  MountError,
  ConfigError,
  DotenvError,
  ConnectionConfigError,
  BinaryNotFoundError,
  ApprovalRefusedError,
  WorkflowsFileError,
  UnknownWorkflowTypeError,
  ServerUnreachableError,
  PayloadConfigError,
  PayloadKeyError,
  BlobStoreError,
  SandboxBusyError,
  McpSettingsError,
  ObservabilityConfigError,
];

/** The one-line message of a failure the user can fix, or undefined for a bug. */
export function userErrorMessage(error: unknown): string | undefined {
  return error instanceof Error && USER_ERRORS.some((type) => error instanceof type) ? error.message : undefined;
}

/** A user error prints as one line (neutralised: it may quote a task or pipeline file) and is exit code 2; anything else propagates. */
export function reportUserError(io: CommandIo, error: unknown): ExitCode {
  const message = userErrorMessage(error);
  if (message === undefined) throw error;
  io.err(`error: ${forTerminal(message)}`);
  return EXIT.usage;
}
