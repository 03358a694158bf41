/**
 * The root of Capsule's own errors. Each layer declares its failure modes in its own `errors.ts` (config, sandbox,
 * pipeline, workflows, client, payloads, cli), one class per mode, each with a line saying when it is thrown, a
 * stable `name` (what logs and `--json` show) and, where it wraps another failure, a typed `cause`. Code tells them
 * apart with `instanceof`, never by comparing names; the CLI maps classes to exit codes in one table
 * (src/cli/exit-codes.ts).
 */
export abstract class CapsuleError<Cause = never> extends Error {
  abstract override readonly name: string;
  declare readonly cause: Cause | undefined;

  constructor(message: string, cause?: Cause) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
