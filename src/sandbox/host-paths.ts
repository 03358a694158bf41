/**
 * No host paths in envelopes. An envelope reaches the guest (a sub-task's envelope is its caller's return value),
 * logs and Temporal's history, so messages the host writes must not map the host's layout. Messages are written
 * without host paths in the first place; this is the net under them, for text that comes from elsewhere (a Node
 * error, a runtime's trap message): the directories Capsule knows are replaced by what they are to the task.
 */
import os from 'node:os';
import path from 'node:path';
import { capsuleCacheDir } from '../config/paths.js';
import type { Envelope } from './envelope.js';

function replacements(baseDir: string): [string, string][] {
  const known: [string, string][] = [
    [path.resolve(baseDir), '.'],
    [capsuleCacheDir(), '<capsule cache>'],
    [os.tmpdir(), '<tmp>'],
    [os.homedir(), '~'],
  ];
  // Longest first: the project directory usually lies inside the home or temporary directory.
  return known.filter(([dir]) => dir.length > 1).sort(([a], [b]) => b.length - a.length);
}

export function hideHostPaths(text: string, baseDir: string): string {
  let hidden = text;
  for (const [dir, shown] of replacements(baseDir)) hidden = hidden.replaceAll(dir, shown);
  return hidden;
}

/** The envelope with host directories hidden in the texts the host writes: the error and the denial reasons. */
export function withoutHostPaths(envelope: Envelope, baseDir: string): Envelope {
  const hide = (text: string) => hideHostPaths(text, baseDir);
  return {
    ...envelope,
    error: envelope.error && { ...envelope.error, message: hide(envelope.error.message) },
    execution: { ...envelope.execution, denials: envelope.execution.denials.map((d) => ({ ...d, reason: hide(d.reason) })) },
  };
}
