/** `capsule exec <file> [args...]`: one task (TypeScript, JavaScript or Python), one fresh sandbox, no Temporal. */
import { loadCapsuleConfig } from '../../config/capsule-toml.js';
import { MountError } from '../../config/errors.js';
import { resolveMount } from '../../config/mounts.js';
import { bundleTaskFile, invalidTaskEnvelope, Sandbox, taskLanguage, type Envelope } from '../../sandbox/index.js';
import { processIo, type CommandIo } from '../io.js';
import { userErrorMessage } from '../exit-codes.js';
import { parseInput } from '../../client/input.js';
import { forTerminal } from '../terminal-text.js';
import { formatEnvelope } from '../format.js';
import { readInput, type InputOptions } from '../input.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

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
  const fail = (message: string): number => {
    // The message may quote the task file (an import specifier, an option value): shown, not obeyed.
    io.err(`capsule exec: ${forTerminal(message)}`);
    if (options.json) io.out(JSON.stringify(invalidTaskEnvelope(taskName, message)));
    return EXIT.usage;
  };
  let args: unknown[];
  let sandbox: Sandbox | undefined;
  try {
    args = await taskArgs(options, io);
    const mounts = options.mounts ?? [];
    for (const mount of mounts) checkMount(mount, io.cwd);
    const config = loadCapsuleConfig(io.cwd);
    const bundle = await bundleTaskFile(options.file);
    sandbox = await Sandbox.create({ languages: [taskLanguage(bundle.entryFile)] });
    const tasks = await sandbox.describe(bundle, { baseDir: io.cwd, defaults: config.tasks });
    const known = [...tasks.keys()];
    if (!tasks.has(taskName)) return fail(`${options.file}: no task named "${taskName}" (tasks: ${known.join(', ')})`);
    const envelope: Envelope = await sandbox.run({ bundle, task: taskName, args, baseDir: io.cwd, defaults: config.tasks, env: io.env, mounts });
    io.out(options.json ? JSON.stringify(envelope) : formatEnvelope(envelope, io.tty));
    return envelope.success ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const message = userErrorMessage(error);
    if (message === undefined) throw error;
    return fail(message);
  } finally {
    await sandbox?.close();
  }
}

/** A mount that cannot work is a usage error before anything runs. */
function checkMount(mount: string, cwd: string): void {
  try {
    resolveMount(mount, cwd);
  } catch (error) {
    if (error instanceof MountError) throw new UsageError(`--mount ${error.message}`);
    throw error;
  }
}
