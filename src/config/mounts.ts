/**
 * Mounts: `HOST[::GUEST][:ro|:rw]`, the original Capsule's `--mount` syntax, given on `capsule exec`/`capsule run`
 * or as a pipeline step's `mounts`. A mount grants the task one more directory of the project, under the guest
 * path it names (`sessions/abc::workspace` is `./workspace` inside the task). The rules are allowedFiles' rules: the
 * host directory is relative to the project directory (the one Capsule runs in), stays inside it, exists and is
 * reached without symbolic links; the guest path is relative too. One difference from the original: a mount without
 * a mode is read-only, as a plain allowedFiles entry is here (nothing is writable unless someone says so).
 *
 * A mount adds a directory; it never changes one the task declares: a mount whose guest path the task already
 * declares for the same directory keeps the declared mode, and one that would point that path elsewhere is refused.
 * Mounts reach sub-tasks as well (within what their caller may use).
 */
import { MountError } from './errors.js';
import { parseRelativePath } from './guest-path.js';
import type { AllowedFile, FileMode } from './task-options.js';
import { checkGrantedDirectory } from './task-options.js';

export interface Mount {
  /** The host directory, relative to the project directory, normalised. */
  hostPath: string;
  /** Where the task sees it, normalised. */
  guestPath: string;
  mode: FileMode;
}

export const MOUNT_SYNTAX = 'HOST[::GUEST][:ro|:rw], e.g. "sessions/abc::workspace:rw"';

/** Parses and checks one mount against the project directory. Throws MountError naming the mount. */
export function resolveMount(spec: string, baseDir: string): Mount {
  let rest = spec;
  let mode: FileMode = 'read-only';
  if (rest.endsWith(':ro') || rest.endsWith(':rw')) {
    mode = rest.endsWith(':rw') ? 'read-write' : 'read-only';
    rest = rest.slice(0, -3);
  }
  const separator = rest.indexOf('::');
  const hostRaw = separator === -1 ? rest : rest.slice(0, separator);
  const guestRaw = separator === -1 ? rest : rest.slice(separator + 2);
  if (hostRaw === '' || guestRaw === '') throw new MountError(spec, `expected ${MOUNT_SYNTAX}`);
  const host = checkGrantedDirectory(hostRaw, baseDir);
  if (!host.ok) throw new MountError(spec, host.problem);
  const guest = guestPathOf(guestRaw);
  if (!guest.ok) throw new MountError(spec, guest.problem);
  return { hostPath: host.path, guestPath: guest.path, mode };
}

function guestPathOf(raw: string): { ok: true; path: string } | { ok: false; problem: string } {
  const parsed = parseRelativePath(raw);
  if (!parsed.ok && parsed.problem === 'nul') return { ok: false, problem: 'the guest path contains a NUL byte' };
  if (!parsed.ok && parsed.problem === 'absolute') return { ok: false, problem: `the guest path "${raw}" is absolute; tasks see relative paths only, such as "workspace"` };
  // Stricter than a path a guest opens: a mount names one directory plainly, without ".." anywhere.
  if (!parsed.ok || raw.replaceAll('\\', '/').split('/').includes('..')) return { ok: false, problem: `the guest path "${raw}" contains "..": name a directory such as "workspace"` };
  if (parsed.path === '.') return { ok: false, problem: 'the guest path must name a directory, such as "workspace"' };
  return { ok: true, path: parsed.path };
}

/**
 * The task's directories plus the mounts. A mount at a guest path the task declares for the same directory changes
 * nothing; one at a declared path pointing elsewhere, or two mounts at one guest path, are refused.
 */
export function withMounts(allowedFiles: AllowedFile[], mounts: readonly Mount[]): AllowedFile[] {
  const merged = [...allowedFiles];
  for (const mount of mounts) {
    const same = merged.find((f) => f.path === mount.guestPath);
    const spec = `${mount.hostPath}::${mount.guestPath}`;
    if (same === undefined) {
      merged.push({ path: mount.guestPath, mode: mount.mode, ...(mount.hostPath === mount.guestPath ? {} : { hostPath: mount.hostPath }) });
    } else if ((same.hostPath ?? same.path) !== mount.hostPath) {
      throw new MountError(spec, `"${mount.guestPath}" is already a directory the task uses, for another host directory; mount it under another guest path`);
    }
  }
  return merged;
}
