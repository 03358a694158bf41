/**
 * `capsule exec <file> [args...]`: one task (TypeScript, JavaScript or Python), one fresh sandbox, no Temporal.
 * The run happens in the resident exec server when one answers (cli/exec/server.ts: warm runtimes, no start-up),
 * else in this process, which then starts a server for the next call. Either way it is the same run (exec-task.ts).
 * This module loads nothing heavy until it must run the task itself.
 */
import { parseInput } from '../../client/input.js';
import type { Sandbox } from '../../sandbox/index.js';
import type { ExecReply, ExecRequest } from '../exec/exec-task.js';
import { execServerEnabled, execViaServer } from '../exec/client.js';
import { UsageError } from '../errors.js';
import { EXIT, userErrorMessage } from '../exit-codes.js';
import { formatEnvelope } from '../format.js';
import { readInput, type InputOptions } from '../input.js';
import { processIo, type CommandIo } from '../io.js';
import { forTerminal } from '../terminal-text.js';

/** `input` / `inputFile`: one JSON value passed as the task's only argument. */
export interface ExecOptions extends InputOptions {
  file: string;
  /** Positional arguments, passed to the task as strings. */
  args: string[];
  task?: string;
  json: boolean;
  /** `HOST[::GUEST][:ro|:rw]` directories of the working directory to add to the task's grants. */
  mounts?: string[];
}

async function taskArgs(options: ExecOptions, io: CommandIo): Promise<unknown[]> {
  const given = await readInput(options, io);
  if (given === undefined) return options.args;
  if (options.args.length > 0) throw new UsageError('give the task its input either as positional arguments or with --input/--input-file, not both');
  return [parseInput(given)];
}

export async function execCommand(options: ExecOptions, io: CommandIo = processIo()): Promise<number> {
  const taskName = options.task ?? 'main';
  let args: unknown[];
  try {
    args = await taskArgs(options, io);
  } catch (error) {
    const message = userErrorMessage(error);
    if (message === undefined) throw error;
    // The envelope's module belongs to the sandbox: loaded only for this.
    const { invalidTaskEnvelope } = await import('../../sandbox/outcome.js');
    return printReply({ kind: 'invalid', message, envelope: invalidTaskEnvelope(taskName, message) }, options, io);
  }
  const request: ExecRequest = { file: options.file, cwd: io.cwd, task: taskName, args, mounts: options.mounts ?? [], env: io.env };
  if (execServerEnabled(io.env)) {
    const outcome = await execViaServer(request, (line) => io.err(`capsule: ${forTerminal(line)}`));
    if (outcome.kind === 'internal') throw new Error(outcome.message);
    if (outcome.kind !== 'unavailable') return printReply(outcome, options, io);
  }
  return printReply(await execHere(request), options, io);
}

/** Runs the request in this process, in a sandbox of one thread made for it. */
async function execHere(request: ExecRequest): Promise<ExecReply> {
  const [{ execTask }, sandboxModule] = await Promise.all([import('../exec/exec-task.js'), import('../../sandbox/index.js')]);
  let sandbox: Sandbox | undefined;
  try {
    return await execTask(request, {
      bundle: sandboxModule.bundleTaskFile,
      // One thread: this process runs one task (a sub-task it calls gets an extra thread, as in any pool).
      sandbox: async (language) => (sandbox = await sandboxModule.Sandbox.create({ languages: [language], poolSize: 1, secrets: { env: request.env, dir: request.cwd } })),
    });
  } finally {
    await sandbox?.close();
  }
}

function printReply(reply: ExecReply, options: ExecOptions, io: CommandIo): number {
  if (reply.kind === 'invalid') {
    // The message may quote the task file (an import specifier, an option value): shown, not obeyed.
    io.err(`capsule exec: ${forTerminal(reply.message)}`);
    if (options.json) io.out(JSON.stringify(reply.envelope));
    return EXIT.usage;
  }
  io.out(options.json ? JSON.stringify(reply.envelope) : formatEnvelope(reply.envelope, io.tty));
  return reply.envelope.success ? EXIT.ok : EXIT.failed;
}
