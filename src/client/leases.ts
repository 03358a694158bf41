/**
 * A `capsule run` that uses the embedded server another `capsule run` started leaves a lease (a file named by its
 * pid under .capsule/leases), so the server's owner keeps it up until every such run has finished, instead of
 * stopping it under them. Leases of processes that died are ignored and removed.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CAPSULE_DIR } from './dev-state.js';

const LEASES_DIR = 'leases';
const POLL_MS = 500;

function leasesDir(cwd: string): string {
  return path.join(cwd, CAPSULE_DIR, LEASES_DIR);
}

/** Takes a lease for this process; the returned function gives it back. */
export function takeLease(cwd: string): () => void {
  const dir = leasesDir(cwd);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, String(process.pid));
  writeFileSync(file, '');
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs still holding a lease (other than this process). */
export function liveLeases(cwd: string): number {
  let names: string[];
  try {
    names = readdirSync(leasesDir(cwd));
  } catch {
    return 0;
  }
  let live = 0;
  for (const name of names) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isSafeInteger(pid) && alive(pid)) live++;
    else rmSync(path.join(leasesDir(cwd), name), { force: true });
  }
  return live;
}

/** Waits until no other run holds a lease, saying once why it waits. */
export async function waitForLeases(cwd: string, report: (line: string) => void): Promise<void> {
  let said = false;
  for (let live = liveLeases(cwd); live > 0; live = liveLeases(cwd)) {
    if (!said) report(`keeping the embedded Temporal server up until ${live} other \`capsule run\`(s) in this directory finish`);
    said = true;
    await sleep(POLL_MS);
  }
}
