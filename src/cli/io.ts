/** Where commands write. Commands take it as a parameter so tests can call them without spawning a process. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: colours and live views only then. */
  interactive: boolean;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  interactive: process.stdout.isTTY === true,
};

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A usage or validation error: printed as one message, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
