/**
 * File descriptors of threads terminated mid-run (timeouts) while holding grants: Node closes them as the thread
 * exits, so none leaks — and nothing closes them a second time, when their numbers may already belong to another
 * thread's call (which then failed with EBADF) or to libuv (which aborted the process).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleSource } from '../../src/sandbox/index.js';
import { useSandboxAndDir } from '../helpers.js';

const { sandbox, dir } = useSandboxAndDir();
const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('descriptors of terminated threads', () => {
  it('are not closed twice: runs that open grants beside threads being terminated all succeed', async () => {
    const loop = await bundleSource({ language: 'javascript', source: 'for (;;) console.log("x".repeat(1000));' });
    const quick = await bundleSource({ language: 'javascript', source: 'import fs from "fs";\nexport function main() { return fs.readdirSync("files").length; }' });
    const mounts = ['.::files:ro'];
    for (let i = 0; i < 15; i++) {
      const runs = [sandbox().run({ bundle: loop, baseDir: dir().base, mounts, options: { timeout: 150 + (i % 5) * 40 }, withoutMain: 'script' })];
      for (let j = 0; j < 3; j++) runs.push(sandbox().run({ bundle: quick, baseDir: dir().base, mounts, options: {} }));
      const [stopped, ...others] = await Promise.all(runs);
      expect(stopped!.error?.error_type).toBe('timeout');
      for (const envelope of others) expect(envelope.error, JSON.stringify(envelope.error)).toBeNull();
    }
  });

  it('do not leak', async () => {
    const loop = await bundleSource({ language: 'javascript', source: 'while (true) {}' });
    const settle = async () => {
      // The pool replaces terminated threads; a few quick runs make sure the replacements are up.
      const quick = await bundleSource({ language: 'javascript', source: 'function main() { return 1; }' });
      for (let i = 0; i < 4; i++) await sandbox().run({ bundle: quick, baseDir: dir().base, options: {} });
    };
    await settle();
    const before = openDescriptors();
    for (let i = 0; i < 12; i++) {
      // HIGH: the default budget (MEDIUM, 2e9) lasts ~0.1-0.2 s of this loop once V8 has optimised the interpreter,
      // so under the default it was a race between the fuel and the 100 ms timeout; the threads must be terminated.
      const options = { timeout: 100, compute: 'HIGH' };
      const envelope = await sandbox().run({ bundle: loop, baseDir: dir().base, mounts: ['data::a:ro', 'out::b:rw'], options });
      expect(envelope.error?.error_type).toBe('timeout');
    }
    await settle();
    // Terminated threads exit asynchronously (and hold their event loop's descriptors until they have): wait for
    // them. Twelve runs held two grant roots each when they were stopped: 24 descriptors if those leaked.
    const deadline = Date.now() + 20_000;
    while (openDescriptors() - before >= 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(openDescriptors() - before).toBeLessThan(6);
  });
});
