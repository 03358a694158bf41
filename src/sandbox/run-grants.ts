/**
 * What one run may use: the task's declaration, plus the run's mounts, cut down to its caller's options for a
 * sub-task (narrow.ts); the file grants the thread opens; the environment variables it lists.
 */
import { resolveMount, withMounts } from '../config/mounts.js';
import type { ResolvedTaskOptions } from '../config/task-options.js';
import type { NarrowedOption } from './envelope.js';
import { narrowToCaller } from './narrow.js';
import { type FileGrant, within } from './policy/file-policy.js';

/** Throws MountError for a mount that cannot be used here (checked where the run happens: a worker's base directory). */
export function runGrants(
  declared: ResolvedTaskOptions,
  mounts: readonly string[],
  baseDir: string,
  caller: ResolvedTaskOptions | undefined,
): { options: ResolvedTaskOptions; narrowed: NarrowedOption[] } {
  const mounted = { ...declared, allowedFiles: withMounts(declared.allowedFiles, mounts.map((m) => resolveMount(m, baseDir))) };
  // A sub-task runs with at most what its caller has, whatever its own declaration says.
  return caller ? narrowToCaller(mounted, caller) : { options: mounted, narrowed: [] };
}

/**
 * The grants a thread opens. `excludedPaths` (relative to `baseDir`, normalised) are directories no grant reaches
 * into unless it names them itself (or a directory inside them): each grant above one excludes it.
 */
export function grantsFor(options: ResolvedTaskOptions, baseDir: string, excludedPaths: readonly string[] = []): FileGrant[] {
  return options.allowedFiles.map((f) => {
    const hostPath = f.hostPath ?? f.path;
    const excluded = excludedPaths.filter((e) => e !== hostPath && within(e, hostPath)).map((e) => (hostPath === '.' ? e : e.slice(hostPath.length + 1)));
    return { guestPath: f.path, base: baseDir, hostPath, mode: f.mode, ...(excluded.length === 0 ? {} : { excluded }) };
  });
}

/** The listed variables the host has (copied into the run request), and the ones it does not (absent in the guest). */
export function listedEnvironment(names: readonly string[], env: Record<string, string | undefined>): { listed: Record<string, string>; unset: string[] } {
  const listed: Record<string, string> = {};
  const unset: string[] = [];
  for (const name of names) {
    const value = env[name];
    if (value === undefined) unset.push(name);
    else listed[name] = value;
  }
  return { listed, unset };
}
