/**
 * Reading a task's source files on the host, for the bundlers (JavaScript and Python alike), without reading for
 * the guest: a file is read only if its real path lies inside one of the directories the task owns, only if it is
 * a regular file (a FIFO would block the bundler forever, a device would be read as code), and the check is made on
 * the opened handle (what the kernel says it opened), so a link swapped in after the check cannot redirect it.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { ConfinedReadError } from './errors.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/**
 * No task source (a file, or a Python task with its local modules) is larger. Bundles travel by claim-check, so
 * this follows the largest value a pipeline moves (64 MiB, workflows/shared.ts), not Temporal's payload limit.
 */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
const PROC_FD = process.platform === 'linux' && fs.existsSync('/proc/self/fd');


/** Whether `target` (a real path) is `dir` or lies below it. */
export function isInside(dir: string, target: string): boolean {
  const relative = path.relative(dir, target);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The real path of `file`, or undefined if it does not exist. */
export function realPathOf(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The text of `file`, whose real path must lie inside one of `zones` (real paths). Throws ConfinedReadError with a
 * message that says why, naming the file as given.
 */
export function readConfined(file: string, zones: readonly string[], shownAs: string = file): string {
  const real = realPathOf(file);
  if (real === undefined) throw new ConfinedReadError(`${shownAs}: no such file`);
  if (!zones.some((zone) => isInside(zone, real))) throw new ConfinedReadError(`${shownAs} is outside the task's directory and its declared dependencies`);
  let fd: number;
  try {
    // The real path has no link in it; O_NOFOLLOW refuses one swapped in since, O_NONBLOCK keeps a FIFO from blocking.
    fd = fs.openSync(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    throw new ConfinedReadError(`${shownAs} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw new ConfinedReadError(`${shownAs} is not a regular file`);
    if (stats.size > MAX_SOURCE_BYTES) throw new ConfinedReadError(`${shownAs} is larger than ${MAX_SOURCE_BYTES / (1024 * 1024)} MiB`);
    if (PROC_FD) {
      const opened = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (!zones.some((zone) => isInside(zone, opened))) throw new ConfinedReadError(`${shownAs} changed while it was read and now lies outside the task's directory`);
    }
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}
