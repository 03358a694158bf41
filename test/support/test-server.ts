/**
 * Temporal's time-skipping test server for the fast workflow tests (TestWorkflowEnvironment.createTimeSkipping).
 * The SDK downloads it from Temporal's site, which these machines cannot reach; it is also published on Maven
 * Central as io.temporal:temporal-test-server. `ensureTestServer()` copies its jars into Capsule's cache once
 * (Maven), compiles a launcher that listens on 127.0.0.1 only (test-server/LoopbackTestServer.java) and returns the
 * script the SDK starts as `<script> <port>`. .ci/run calls it before the tests (`node --import tsx
 * test/support/test-server.ts`); a test that finds it missing installs it the same way.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { capsuleCacheDir } from '../../src/config/paths.js';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-server');
const SOURCES = ['pom.xml', 'LoopbackTestServer.java'];

/** The launcher script, installed (once per pom and launcher source) if missing. */
export function ensureTestServer(report: (line: string) => void = () => {}): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(readFileSync(path.join(here, file)));
  const dir = path.join(capsuleCacheDir(), 'test-server', hash.digest('hex').slice(0, 16));
  const launcher = path.join(dir, 'test-server');
  if (existsSync(launcher)) return launcher;
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'classes'), { recursive: true });
  report(`installing Temporal's test server from Maven Central into ${dir}`);
  const run = (command: string, args: string[]) => execFileSync(command, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  run('mvn', ['-q', '-B', '-f', path.join(here, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(staging, 'lib')}`]);
  run('javac', ['-cp', `${path.join(staging, 'lib')}/*`, '-d', path.join(staging, 'classes'), path.join(here, 'LoopbackTestServer.java')]);
  // Quick start-up over peak speed: the tests' server lives for seconds.
  writeFileSync(
    path.join(staging, 'test-server'),
    `#!/bin/sh\nhere="$(dirname "$0")"\nexec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$here/classes:$here/lib/*" LoopbackTestServer "$@"\n`,
  );
  chmodSync(path.join(staging, 'test-server'), 0o755);
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another process installed it first: theirs is as good.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(launcher)) throw error;
  }
  return launcher;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureTestServer((line) => process.stdout.write(`${line}\n`))}\n`);
}
