/** Exit codes and the usage error shared by every command (where commands write: src/client/io.ts). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A usage or validation error: printed as one message, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
