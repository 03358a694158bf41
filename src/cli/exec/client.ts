/**
 * `capsule exec`'s way to the resident exec server: send the request, relay progress, return the reply. Kept light
 * (no sandbox, no validation library): this is all a warm `capsule exec` loads besides the command line itself.
 *
 * When no server answers, the command runs the task in its own process, and this starts a server in the background
 * for the next call (detached, its output in its log); `CAPSULE_EXEC_SERVER=off` turns all of that off.
 */
import type { spawn as Spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-paths.js';
import { taskLanguage } from '../../sandbox/task-language.js';
import type { ExecReply, ExecRequest } from './exec-task.js';
import { onLines, PROTOCOL_VERSION, send, serverMessageOf } from './protocol.js';
import { isPrivateDirectory, makePrivateDirectory, serverAddress, type ServerAddress } from './server-address.js';

/** The reply, or `unavailable` when no server ran the task (the caller runs it itself). */
export type ServerOutcome = ExecReply | { kind: 'internal'; message: string } | { kind: 'unavailable' };

/** Variables the server process itself needs (finding Node, its caches, Python for a runtime build); callers' others stay theirs. */
const SERVER_ENV = /^(PATH|HOME|USER|LOGNAME|LANG|LC_\w+|TZ|TMPDIR|XDG_\w+|CAPSULE_\w+|NODE_\w+)$/;

export function execServerEnabled(env: Record<string, string | undefined>): boolean {
  return env.CAPSULE_EXEC_SERVER !== 'off';
}

export async function execViaServer(request: ExecRequest, progress: (line: string) => void): Promise<ServerOutcome> {
  const address = serverAddress(request.env);
  if (address === undefined) return { kind: 'unavailable' };
  if (!isPrivateDirectory(address.dir)) {
    startServer(address, request);
    return { kind: 'unavailable' };
  }
  return new Promise((resolve) => {
    const socket = createConnection(address.socket);
    let accepted = false;
    let settled = false;
    const settle = (outcome: ServerOutcome) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () => send(socket, { version: PROTOCOL_VERSION, request }));
    onLines(socket, (raw) => {
      const message = serverMessageOf(raw);
      if (message === undefined) return settle({ kind: 'internal', message: 'the exec server sent a message this command does not understand' });
      if (message.kind === 'progress') return progress(message.line);
      if (message.kind === 'accepted') return void (accepted = true);
      settle(message);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // Nothing listening (never started, or ended idle): this call runs here, the next one finds a server.
      if (!accepted && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) startServer(address, request);
    });
    socket.once('close', () => {
      settle(accepted ? { kind: 'internal', message: `the exec server ended during the run; its log: ${address.log}` } : { kind: 'unavailable' });
    });
  });
}

/** Starts a server in the background, detached from this command: it outlives it and ends when idle. */
function startServer(address: ServerAddress, request: ExecRequest): void {
  if (!makePrivateDirectory(address.dir)) return;
  const env = Object.fromEntries(Object.entries(request.env).filter(([name]) => SERVER_ENV.test(name)));
  // Loaded here, not at the top: a served call never spawns, and child_process costs ~7 ms to load. Synchronously
  // (a require), so the server is started before this command can end.
  const spawn = createRequire(import.meta.url)('node:child_process').spawn as typeof Spawn;
  // It keeps its own log (server.ts); nothing it prints has anyone to read it.
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'capsule.js'), 'exec-server', '--language', taskLanguage(request.file)], {
    cwd: address.dir,
    env,
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {});
  child.unref();
}
