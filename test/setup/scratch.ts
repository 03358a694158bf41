/**
 * One scratch directory for the whole run: every test file's temporary directories (os.tmpdir(), read from TMPDIR)
 * and whatever the processes they start leave there go inside it, and it is removed when the run ends — a test that
 * fails halfway, or a killed child, leaves nothing in the machine's /tmp.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'capsule-test-run-'));
  // Others may pass through but not list it, as through /tmp: a PostgreSQL server a test starts runs as the
  // `postgres` user in a directory of its own in here. Every directory inside is made 0700 by mkdtemp.
  chmodSync(scratch, 0o711);
  // Test files run in forked processes, which take this environment with them.
  process.env.TMPDIR = scratch;
  return () => rmSync(scratch, { recursive: true, force: true });
}
