/** Failures of reading what a project declares: task options, capsule.toml, mounts, .env files. */
import { CapsuleError } from '../errors.js';

/** A task's options are invalid (or its file declares none); names the file, the task and the option. */
export class TaskOptionsError extends CapsuleError {
  override readonly name = 'TaskOptionsError';
  constructor(
    readonly file: string,
    readonly task: string | undefined,
    readonly option: string | undefined,
    readonly detail: string,
  ) {
    const where = [file, task === undefined ? undefined : `task "${task}"`, option === undefined ? undefined : `option "${option}"`]
      .filter(Boolean)
      .join(': ');
    super(`${where}: ${detail}`);
  }
}

/** capsule.toml is not valid TOML, or has an unknown key or a bad value; names the file and the key. */
export class ConfigError extends CapsuleError {
  override readonly name = 'ConfigError';
}

/** A mount (`HOST[::GUEST][:ro|:rw]`) cannot be used in this project directory; names the mount. */
export class MountError extends CapsuleError {
  override readonly name = 'MountError';
  constructor(readonly spec: string, detail: string) {
    super(`mount "${spec}": ${detail}`);
  }
}

/** A `.env` or `.env.local` line is not `NAME=value`; names the file and the line. */
export class DotenvError extends CapsuleError {
  override readonly name = 'DotenvError';
  constructor(readonly file: string, readonly line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
  }
}
