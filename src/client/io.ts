import { forTerminal } from './terminal-text.js';

/** What a command writes to and where it runs; tests pass their own to call commands without a subprocess. */
export interface CommandIo {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Rich output (live tables) only on a terminal. */
  tty: boolean;
  env: Record<string, string | undefined>;
  /** Resolves on Ctrl-C (detach); default: the process's SIGINT. */
  interrupted?: Promise<void>;
  /** All of standard input as text (for `--input -`); without it, `--input -` is a usage error. */
  stdin?: () => Promise<string>;
}

export function processIo(): CommandIo {
  return {
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    tty: process.stdout.isTTY === true,
    env: process.env,
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** The command's Ctrl-C: the one its caller passed in (tests), else the process's SIGINT/SIGTERM. */
export function interruptFor(io: CommandIo): { promise: Promise<void>; dispose: () => void } {
  return io.interrupted === undefined ? onInterrupt() : { promise: io.interrupted, dispose: () => {} };
}

/** Resolves at the first SIGINT/SIGTERM; the handler is removed by the returned cleanup. */
export function onInterrupt(): { promise: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const handler = () => resolve();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return { promise, dispose: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}

/** Errors the user can fix (bad files, config, missing binary) print as one message, no stack: exit code 2. */
export function describeUserError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const userErrors = [
    'UsageError', 'PipelineError', 'ConnectionConfigError', 'ConfigError', 'TaskOptionsError', 'BundleError', 'BinaryNotFoundError',
    'PayloadConfigError', 'PayloadKeyError', 'BlobStoreError', 'SandboxBusyError',
  ];
  return userErrors.includes(error.name) ? error.message : undefined;
}

/** A user error prints as one line and is exit code 2; anything else is a bug and propagates. */
export function reportUserError(io: CommandIo, error: unknown): number {
  const message = describeUserError(error);
  if (message === undefined) throw error;
  // The message may quote a task or pipeline file: shown, not obeyed, on a terminal.
  io.err(`error: ${forTerminal(message)}`);
  return 2;
}
