/** Where Capsule keeps machine-wide caches (the built sandbox runtime, the Temporal CLI binary). */
import os from 'node:os';
import path from 'node:path';

/** `CAPSULE_CACHE_DIR`, else `$XDG_CACHE_HOME/capsule`, else `~/.cache/capsule`. */
export function capsuleCacheDir(): string {
  const explicit = process.env.CAPSULE_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg ? path.resolve(xdg) : path.join(os.homedir(), '.cache'), 'capsule');
}
