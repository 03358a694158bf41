/**
 * The resident exec server (`capsule exec-server`, started by `capsule exec` in the background): one process that
 * keeps a warm sandbox pool, the compiled runtimes and the bundles of the task files it ran, so that a later
 * `capsule exec` costs Node's start-up and one run instead of loading all of that again (docs/benchmarks.md, issue 17).
 * Each run is still a fresh sandbox with exactly its caller's directory, environment and grants (exec-task.ts).
 *
 * It ends by itself after IDLE_MS without a caller, on SIGTERM/SIGINT, or when its socket is taken away. Only one
 * server listens per address: a second one started in a race finds the first answering and exits.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { closeSync, existsSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { BundleCache, Sandbox, type Language } from '../../sandbox/index.js';
import { execTask, type ExecRequest } from './exec-task.js';
import { onLines, requestOf, send, type ServerMessage } from './protocol.js';
import { makePrivateDirectory, serverAddress, type ServerAddress } from './server-address.js';

/** How long the server waits for a caller before it ends. */
export const IDLE_MS = 15 * 60 * 1000;

export interface ExecServerOptions {
  /** The language to load first (the one the starting command ran). */
  language?: Language;
  idleMs?: number;
  /** Where to listen; default: this Capsule's address. */
  address?: ServerAddress;
}

/** Serves until idle or stopped; resolves with an exit code. */
export async function serveExec(options: ExecServerOptions = {}): Promise<number> {
  const address = options.address ?? serverAddress(process.env);
  if (address === undefined) {
    process.stderr.write('capsule exec-server: no address for a socket here (the path would be too long)\n');
    return 1;
  }
  if (!makePrivateDirectory(address.dir)) {
    process.stderr.write(`capsule exec-server: ${address.dir} is not a directory only this user can enter; not listening there\n`);
    return 1;
  }
  if (await answering(address.socket)) return 0;
  // Its log: where it listens, each run (what ran, where, when it started and how it ended), and why it stopped.
  // Written synchronously: a line is in the file before the caller hears of what it records.
  const log = openSync(address.log, 'w', 0o600);
  const note = (line: string) => writeSync(log, `${new Date().toISOString()} ${line}\n`);
  const connections = new Set<Socket>();
  const broadcast = (line: string) => { for (const socket of connections) send(socket, { kind: 'progress', line }); };
  const sandbox = await Sandbox.create({ languages: [options.language ?? 'js'], report: broadcast });
  const bundles = new BundleCache();
  let idleTimer: NodeJS.Timeout | undefined;
  let stopping: ((code: number) => void) | undefined;
  const stopped = new Promise<number>((resolve) => (stopping = resolve));
  const idleMs = options.idleMs ?? IDLE_MS;
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (connections.size === 0) idleTimer = setTimeout(() => { note(`idle for ${idleMs} ms`); stopping?.(0); }, idleMs);
  };

  const server = createServer((socket) => {
    connections.add(socket);
    clearTimeout(idleTimer);
    // The caller going away (Ctrl-C, killed) ends its run.
    const caller = new AbortController();
    socket.on('close', () => {
      connections.delete(socket);
      caller.abort();
      armIdle();
    });
    socket.on('error', () => {});
    let received = false;
    onLines(socket, (message) => {
      if (received) return;
      received = true;
      const request = requestOf(message);
      const reply = (answer: ServerMessage) => { if (!socket.destroyed) socket.end(`${JSON.stringify(answer)}\n`); };
      if (typeof request === 'string') return reply({ kind: 'internal', message: `the exec server did not understand the request: ${request}` });
      note(`${describeRun(request)}: started`);
      send(socket, { kind: 'accepted' });
      const started = performance.now();
      execTask(request, { sandbox: async (language) => { await sandbox.load(language); return sandbox; }, bundle: (file, cwd) => bundles.bundle(file, cwd), signal: caller.signal }).then(
        (answer) => {
          logRun(note, request, caller.signal.aborted ? 'cancelled: its caller went away' : answer.kind === 'invalid' ? 'invalid' : (answer.envelope.error?.error_type ?? 'success'), started);
          reply(answer);
        },
        (error: unknown) => {
          logRun(note, request, 'internal error', started);
          reply({ kind: 'internal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        },
      );
    });
  });

  // A socket file left by a server that died is in the way: nothing answers on it (checked above), so it goes.
  if (existsSync(address.socket)) unlinkSync(address.socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.socket, () => resolve());
  });
  const ownSocket = statSync(address.socket).ino;
  // Another server replacing the socket (or someone deleting it) leaves this one unreachable: it ends.
  const watch = setInterval(() => {
    if (!existsSync(address.socket) || statSync(address.socket).ino !== ownSocket) {
      note('its socket was removed or taken by another server');
      stopping?.(0);
    }
  }, 5000);
  watch.unref();
  const onSignal = (signal: NodeJS.Signals) => { note(`got ${signal}`); stopping?.(0); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  armIdle();
  note(`listening on ${address.socket} (pid ${process.pid})`);

  const code = await stopped;
  note('stopping');
  clearInterval(watch);
  clearTimeout(idleTimer);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  server.close();
  for (const socket of connections) socket.destroy();
  try {
    if (statSync(address.socket).ino === ownSocket) unlinkSync(address.socket);
  } catch {
    // Already gone.
  }
  await sandbox.close();
  closeSync(log);
  return code;
}

/** One line per run in the server's log: what ran, where, and how it ended (never its input or output). */
function logRun(note: (line: string) => void, request: ExecRequest, outcome: string, started: number): void {
  note(`${describeRun(request)}: ${outcome} (${Math.round(performance.now() - started)} ms)`);
}

function describeRun(request: ExecRequest): string {
  return `${JSON.stringify(request.file)} task ${JSON.stringify(request.task)} in ${JSON.stringify(request.cwd)}`;
}

/** Whether a server answers on `socket` (connects within a second). */
export function answering(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socket)) return resolve(false);
    const probe = createConnection(socket);
    const done = (result: boolean) => { clearTimeout(timer); probe.destroy(); resolve(result); };
    const timer = setTimeout(() => done(false), 1000);
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}
