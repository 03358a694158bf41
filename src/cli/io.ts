/** Where a command writes and what it runs in: the process's, or a test's own. */
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
