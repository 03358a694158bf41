/**
 * Temporal's time-skipping test server for the fast workflow tests (TestWorkflowEnvironment.createTimeSkipping).
 * The SDK downloads it from Temporal's site, which these machines cannot reach; it is also published on Maven
 * Central as io.temporal:temporal-test-server. `ensureTestServer()` copies its jars into Capsule's cache once
 * (Maven), compiles a launcher that listens on 127.0.0.1 only (test-server/LoopbackTestServer.java) and returns the
 * script the SDK would start as `<script> <port>`. .ci/run calls it before the tests (`node --import tsx
 * test/support/test-server.ts`); a test that finds it missing installs it the same way.
 *
 * `startTestServer()` starts it itself and waits for it however long a busy machine takes: the SDK gives the
 * executable it starts 5 seconds, less than a JVM needs on a loaded 2-core machine. The SDK then gets a placeholder
 * executable for the same port (`createTimeSkipping({ server: { executable: { type: 'existing-path', path:
 * placeholder }, port } })`), finds the server already answering, and stops only the placeholder at teardown.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { capsuleCacheDir } from '../../src/config/paths.js';
import { pickPort, withLifeline } from '../../src/client/dev-server.js';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'test-server');
const SOURCES = ['pom.xml', 'LoopbackTestServer.java'];
/** Bumped when what an install lays out changes. */
const INSTALL_FORMAT = 2;

/** The launcher script, installed (once per pom and launcher source) if missing. */
export function ensureTestServer(report: (line: string) => void = () => {}): string {
  const hash = createHash('sha256').update(`format ${INSTALL_FORMAT}\n`);
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
  // What the SDK starts when the server is already up (startTestServer): holds the place until the SDK stops it.
  writeFileSync(path.join(staging, 'placeholder'), '#!/bin/sh\nexec sleep 2147483647\n');
  chmodSync(path.join(staging, 'placeholder'), 0o755);
  try {
    renameSync(staging, dir);
  } catch (error) {
    // Another process installed it first: theirs is as good.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(launcher)) throw error;
  }
  return launcher;
}

export interface TestServer {
  port: number;
  /** The executable to give the SDK for this port (see above). */
  placeholder: string;
  stop(): Promise<void>;
}

/** The time-skipping server on 127.0.0.1, answering; it ends with the process that started it. */
export async function startTestServer(readyWithinMs = 120_000): Promise<TestServer> {
  const launcher = ensureTestServer();
  const port = await pickPort();
  const [command, args] = withLifeline(launcher, [String(port)]);
  const child = spawn(command, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + readyWithinMs;
  while (!(await answers(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the test server exited (${child.exitCode ?? child.signalCode}) before it listened on 127.0.0.1:${port}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the test server did not listen on 127.0.0.1:${port} within ${readyWithinMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    placeholder: path.join(path.dirname(launcher), 'placeholder'),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureTestServer((line) => process.stdout.write(`${line}\n`))}\n`);
}
