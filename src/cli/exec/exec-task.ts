/**
 * What `capsule exec` does with a task file once its arguments are read: the same whether it runs in the command's
 * own process or in the resident exec server (server.ts). Everything a run depends on comes with the request — the
 * directory (capsule.toml, .env, relative paths), the environment (listed variables, secret values), mounts — so a
 * server that outlives many callers runs each exactly as that caller's own process would.
 */
import { loadCapsuleConfig } from '../../config/capsule-toml.js';
import { loadSecretValues } from '../../config/dotenv.js';
import { MountError } from '../../config/errors.js';
import { resolveMount } from '../../config/mounts.js';
import { invalidTaskEnvelope, taskLanguage, type Envelope, type Language, type Sandbox, type TaskBundle } from '../../sandbox/index.js';
import { UsageError } from '../errors.js';
import { userErrorMessage } from '../exit-codes.js';

export interface ExecRequest {
  /** The task file as the user gave it (messages name it so), relative to `cwd`. */
  file: string;
  /** The caller's working directory. */
  cwd: string;
  task: string;
  args: unknown[];
  /** `HOST[::GUEST][:ro|:rw]` directories of `cwd` to add to the task's grants. */
  mounts: string[];
  /** The caller's environment: the task's envVariables and secret values are read from it (and `cwd`'s .env files). */
  env: Record<string, string | undefined>;
}

export type ExecReply =
  | { kind: 'envelope'; envelope: Envelope }
  /**
   * Input that cannot run (a usage error, exit code 2): the message names the file, task or option; the envelope
   * says the same for `--json` callers.
   */
  | { kind: 'invalid'; message: string; envelope: Envelope };

export interface ExecDeps {
  /** A sandbox with the language's runtime. */
  sandbox: (language: Language) => Promise<Sandbox>;
  /** The task file's bundle. */
  bundle: (file: string, cwd: string) => Promise<TaskBundle>;
  /** Ends the run (its caller went away). */
  signal?: AbortSignal;
}

/** Runs the request's task in a fresh sandbox. Throws only for what is not the caller's input (an internal error). */
export async function execTask(request: ExecRequest, deps: ExecDeps): Promise<ExecReply> {
  try {
    for (const mount of request.mounts) checkMount(mount, request.cwd);
    const config = loadCapsuleConfig(request.cwd);
    // Read before anything runs: a malformed .env is the caller's error, whatever the task needs.
    const secrets = loadSecretValues({ env: request.env, dir: request.cwd });
    const bundle = await deps.bundle(request.file, request.cwd);
    const sandbox = await deps.sandbox(taskLanguage(bundle.entryFile));
    const tasks = await sandbox.describe(bundle, { baseDir: request.cwd, defaults: config.tasks });
    if (!tasks.has(request.task)) return invalid(request, `${request.file}: no task named "${request.task}" (tasks: ${[...tasks.keys()].join(', ')})`);
    const envelope = await sandbox.run({
      bundle,
      task: request.task,
      args: request.args,
      baseDir: request.cwd,
      defaults: config.tasks,
      env: request.env,
      secretValue: (name) => secrets.get(name),
      mounts: request.mounts,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    return { kind: 'envelope', envelope };
  } catch (error) {
    const message = userErrorMessage(error);
    if (message === undefined) throw error;
    return invalid(request, message);
  }
}

function invalid(request: ExecRequest, message: string): ExecReply {
  return { kind: 'invalid', message, envelope: invalidTaskEnvelope(request.task, message) };
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
