/**
 * `.capsule/dev-server.json`: how `capsule dev` (or a `capsule run` that started the embedded server) tells other
 * commands in the same directory where it serves. A file whose process is gone is ignored.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const CAPSULE_DIR = '.capsule';
const STATE_FILE_NAME = 'dev-server.json';

const stateSchema = z.object({
  pid: z.number().int(),
  address: z.string(),
  uiUrl: z.string().optional(),
  namespace: z.string(),
  /** `dev` runs a worker for as long as it lives; `run` only while its own pipeline runs. */
  owner: z.enum(['dev', 'run']),
});
export type DevServerState = z.infer<typeof stateSchema>;

export function stateFile(cwd: string): string {
  return path.join(cwd, CAPSULE_DIR, STATE_FILE_NAME);
}

export function writeDevServerState(cwd: string, state: DevServerState): void {
  mkdirSync(path.join(cwd, CAPSULE_DIR), { recursive: true });
  writeFileSync(stateFile(cwd), `${JSON.stringify(state, null, 2)}\n`);
}

export function clearDevServerState(cwd: string): void {
  rmSync(stateFile(cwd), { force: true });
}

/** The state of a `capsule dev` that is still alive, else undefined (a stale file is ignored). */
export function readDevServerState(cwd: string): DevServerState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(stateFile(cwd), 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  try {
    process.kill(parsed.data.pid, 0);
  } catch {
    return undefined;
  }
  return parsed.data;
}
