/**
 * Builds every import of one guest instance (either language's runner). Nothing comes from preview2-shim's
 * defaults (they grant the host's environment, stdin, network and, in some versions, "/"): stdio is captured, the
 * environment and the arguments are empty (listed variables travel in the run request), the filesystem has no
 * preopens, sockets cannot be created, every HTTP request goes to the main thread's egress, clocks are virtual.
 * Only the shim's resource classes are reused, because the jco glue checks resources with `instanceof` against the
 * classes it is given.
 */
import * as shim from '@bytecodealliance/preview2-shim';
import type { Denial } from '../envelope.js';
import type { ImportObject as PythonRunnerImports } from '../wit/types/python-runner.js';
import type { ImportObject as RunnerImports } from '../wit/types/runner.js';
import { SUBTASK_HOST, type TaskContext } from '../guest/protocol.js';
import { FilePolicy } from '../policy/file-policy.js';
import { VirtualClock } from './clock.js';
import { FsBridge } from './fs-bridge.js';
import { pollInterface, timerAfter } from './timers.js';
import { GrantedFs } from './granted-fs.js';
import { egressPath } from '../egress/protocol.js';
import { egressErrorCode, guestHttpTypes, readdress, type OutgoingRequestLike, type ResponseResult } from './http-readdress.js';

export interface RunSink {
  output(stream: 'stdout' | 'stderr', bytes: Uint8Array): void;
  denial(denial: Denial): void;
}

/** A loopback endpoint on the main thread and the run's token for it. */
export interface HostEndpoint {
  authority: string;
  token: string;
}

export interface RunCapabilities {
  files: FsBridge;
  /** Where the run's HTTP requests go (the egress checks them); null: no network at all (describing a file). */
  egress: HostEndpoint | null;
  subtasks: HostEndpoint | null;
  /** What the guest's context() reads; null while the task options are read. */
  context: TaskContext | null;
}

/**
 * Everything an instance's imports consult. Imports read it when called, never when built, so an instance can be
 * created ahead of time with an inert scope (no grants, output dropped) and bound to its run just before the guest
 * starts (see thread.ts).
 */
export interface RunScope {
  sink: RunSink;
  clock: VirtualClock;
  files: FsBridge;
  egress: RunCapabilities['egress'];
  subtasks: RunCapabilities['subtasks'];
  context: RunCapabilities['context'];
  /**
   * Called on every host call (file calls, HTTP requests, noted denials) with the bytes it moved: the thread charges
   * fuel for the work (so a loop of host calls cannot outrun a fuel budget) and takes a fuel and memory reading.
   */
  onHostCall: (bytes: number) => void;
}

const ignore = () => {};

export function inertScope(): RunScope {
  const sink: RunSink = { output: ignore, denial: ignore };
  return { sink, clock: new VirtualClock(), files: new FsBridge(new FilePolicy([]), GrantedFs.NONE, ignore), egress: null, subtasks: null, context: null, onHostCall: ignore };
}

export function runScope(caps: RunCapabilities, sink: RunSink, onHostCall: (bytes: number) => void): RunScope {
  return { sink, clock: new VirtualClock(), files: caps.files, egress: caps.egress, subtasks: caps.subtasks, context: caps.context, onHostCall };
}

type Imports = Record<string, Record<string, unknown>>;

const { OutputStream, InputStream } = shim.io.streams as unknown as {
  OutputStream: new () => object;
  InputStream: new () => object;
};

interface FutureResponseLike {
  get(): ResponseResult | undefined;
}

const MAX_WRITE = 1n << 20n;

function captureStream(name: 'stdout' | 'stderr', scope: RunScope): object {
  class CaptureStream extends OutputStream {
    checkWrite() { return MAX_WRITE; }
    write(buf: Uint8Array) { scope.sink.output(name, buf); }
    blockingWriteAndFlush(buf: Uint8Array) { scope.sink.output(name, buf); }
    flush() {}
    blockingFlush() {}
    writeZeroes(len: bigint) { scope.sink.output(name, new Uint8Array(Number(len))); }
    blockingWriteZeroesAndFlush(len: bigint) { scope.sink.output(name, new Uint8Array(Number(len))); }
    subscribe() { return timerAfter(0n); }
  }
  return new CaptureStream();
}

/** The guest's stdin is always empty. */
function closedInput(): object {
  class ClosedInput extends InputStream {
    read() { throw { tag: 'closed' }; }
    blockingRead() { throw { tag: 'closed' }; }
    skip() { throw { tag: 'closed' }; }
    blockingSkip() { throw { tag: 'closed' }; }
    subscribe() { return timerAfter(0n); }
  }
  return new ClosedInput();
}

function schemeName(scheme: { tag: string; val?: string } | undefined): string {
  if (!scheme) return 'http';
  return scheme.tag === 'other' ? String(scheme.val).toLowerCase() : scheme.tag.toLowerCase();
}

function outgoingHandler(scope: RunScope) {
  const handle = shim.http.outgoingHandler.handle as (request: unknown, options: unknown) => FutureResponseLike;
  return {
    handle(request: OutgoingRequestLike, options: unknown): FutureResponseLike {
      const scheme = schemeName(request.scheme());
      const authority = request.authority() ?? '';
      const pathWithQuery = request.pathWithQuery() ?? '/';
      const { sink, subtasks, egress } = scope;
      scope.onHostCall(authority.length + pathWithQuery.length);
      if (authority === SUBTASK_HOST) {
        if (!subtasks) {
          sink.denial({ capability: 'network', target: `${scheme}://${authority}${pathWithQuery}`, reason: 'sub-tasks are not available here' });
          throw { tag: 'HTTP-request-denied' };
        }
        // Routed to the pool's loopback endpoint; the token identifies the calling run, so the pool applies the
        // options the task file declares, never anything the guest claims.
        readdress(request, subtasks.authority, `/subtask/${subtasks.token}${pathWithQuery}`);
        return handle(request, options);
      }
      if (!egress) {
        sink.denial({ capability: 'network', target: `${scheme}://${authority}${pathWithQuery}`, reason: 'network access is off while Capsule reads the task options' });
        throw { tag: 'HTTP-request-denied' };
      }
      // Every other request goes to the egress, which checks, resolves, connects and records it; the target
      // travels in the path, so nothing here decides whether it may leave.
      readdress(request, egress.authority, egressPath(egress.token, scheme, authority, pathWithQuery));
      const future = handle(request, options);
      const get = future.get.bind(future);
      future.get = () => egressErrorCode(get());
      return future;
    },
  };
}

/**
 * A guest calling wasi:cli/exit (CPython's os._exit): the glue unwinds with this, and its payload is read as the
 * run's failure (thread.ts), like an `err` returned by the runner.
 */
class GuestExit extends Error {
  /** UTF-8 JSON, as the runner's own `err` bytes. */
  readonly payload: Uint8Array;
  constructor(status: { tag: string }) {
    const message = `the task exited the sandbox process (exit status ${status.tag === 'ok' ? 0 : 1}) instead of returning`;
    super(message);
    this.payload = new TextEncoder().encode(JSON.stringify({ kind: 'task_error', message }));
  }
}

/** Raw sockets are never granted: network access is HTTP through the allowlist, nothing else. */
function deniedSockets(scope: RunScope): Imports {
  const refuse = (target: string, error: string) => () => {
    scope.sink.denial({ capability: 'network', target, reason: 'raw sockets are not available in the sandbox (use HTTP to an allowed host)' });
    throw error;
  };
  const { ipNameLookup, tcp, udp, network, instanceNetwork } = shim.sockets as unknown as Record<string, Record<string, unknown>>;
  return {
    'wasi:sockets/instance-network': instanceNetwork!,
    'wasi:sockets/network': network!,
    'wasi:sockets/tcp': tcp!,
    'wasi:sockets/udp': udp!,
    'wasi:sockets/ip-name-lookup': { ResolveAddressStream: ipNameLookup!.ResolveAddressStream, resolveAddresses: refuse('dns lookup', 'permanent-resolver-failure') },
    'wasi:sockets/tcp-create-socket': { createTcpSocket: refuse('tcp socket', 'access-denied') },
    'wasi:sockets/udp-create-socket': { createUdpSocket: refuse('udp socket', 'access-denied') },
  };
}

/** The guest's UTF-8 (runner.wit says why bytes); malformed sequences become U+FFFD, as for any untrusted text. */
const utf8 = new TextDecoder();

/**
 * Capsule's own host interface, typed against what jco generates from the WIT (src/sandbox/wit/types, regenerated by
 * `npm run typecheck`): a change to runner.wit that this code does not follow fails to compile.
 */
function hostInterface(scope: RunScope): RunnerImports['capsule:sandbox/host@0.1.0'] & PythonRunnerImports['capsule:sandbox/host@0.1.0'] {
  return {
    fsCall(op: string, args: Uint8Array) {
      const reply = scope.files.call(op, utf8.decode(args));
      scope.onHostCall(op.length + args.byteLength + reply.length);
      return reply;
    },
    noteDenial(capability: string, target: string, reason: string) {
      scope.onHostCall(target.length + reason.length);
      if (capability === 'module' || capability === 'env') scope.sink.denial({ capability, target, reason });
    },
    context() {
      const text = JSON.stringify(scope.context);
      scope.onHostCall(text.length);
      return text;
    },
  };
}

export function buildImports(scope: RunScope): Imports {
  const stdout = captureStream('stdout', scope);
  const stderr = captureStream('stderr', scope);
  const stdin = closedInput();
  return {
    'capsule:sandbox/host': hostInterface(scope),
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': { exit: (status: { tag: string }) => { throw new GuestExit(status); } },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/terminal-input': shim.cli.terminalInput,
    'wasi:cli/terminal-output': shim.cli.terminalOutput,
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/monotonic-clock': {
      resolution: () => 1_000n,
      now: () => scope.clock.monotonicNow(),
      // Served in this thread (timers.ts), not by the shim's I/O worker.
      subscribeInstant: (instant: bigint) => timerAfter(scope.clock.waitUntil(BigInt(instant))),
      subscribeDuration: (duration: bigint) => timerAfter(scope.clock.waitFor(BigInt(duration))),
    },
    'wasi:clocks/wall-clock': {
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
      now: () => scope.clock.wallNow(),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': shim.filesystem.types,
    'wasi:http/outgoing-handler': outgoingHandler(scope),
    'wasi:http/types': guestHttpTypes,
    'wasi:io/error': shim.io.error,
    'wasi:io/poll': pollInterface,
    'wasi:io/streams': shim.io.streams,
    'wasi:random/random': shim.random.random,
    ...deniedSockets(scope),
  };
}
