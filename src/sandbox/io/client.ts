/**
 * The sandbox thread's side of the shared I/O service (bundled into the thread's script in place of synckit's
 * `createSyncFn`: runtime/lazy-shim-worker.ts). preview2-shim makes blocking `ioCall`s for a guest's HTTP (and for
 * polls mixing a real pollable with timers); upstream, each importing thread starts its own I/O worker for them, a
 * Node worker costing ~8.8 MB RSS. Here the first call opens a MessageChannel instead and hands one end to the
 * pool, which passes it to the one service per pool (io/service.ts); calls then block exactly as synckit's do.
 * A message posted on a port before its other end is transferred and listened to is kept and delivered (checked
 * when this was built), so the first request needs no handshake.
 */
import { MessageChannel, parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { FromThread } from '../host/protocol.js';
import type { IoReply, IoRequest, ToIoClientPort } from './wire.js';

/** This thread's channel to the service, opened at its first call. */
let port: MessagePort | undefined;

/** The blocking call the shim uses as `ioCall`; synckit's arguments (a worker factory, debug, callbacks) are unused. */
export function createSyncFn(): (...args: unknown[]) => unknown {
  let nextId = 0;
  return (...args: unknown[]) => {
    port ??= connect();
    const cid = nextId++;
    const sharedBuffer = new SharedArrayBuffer(4);
    const request: IoRequest = { sharedBuffer, cid, args };
    port.postMessage(request);
    // No timeout: a guest waiting on HTTP is bounded by its run's timeout, at which the pool terminates this
    // thread; if the service dies, the pool fails the run and replaces the thread (pool.ts).
    const status = Atomics.wait(new Int32Array(sharedBuffer), 0, 0);
    if (status !== 'ok' && status !== 'not-equal') throw new Error(`Internal error: Atomics.wait() failed: ${status}`);
    const reply = receiveMessageOnPort(port)?.message as IoReply | undefined;
    if (reply?.cid !== cid) throw new Error(`Internal error: the I/O service answered call ${String(reply?.cid)} to call ${cid}`);
    // synckit's test: a falsy error is no error.
    if (reply.error) throw reply.error instanceof Error ? Object.assign(reply.error, reply.properties) : reply.error;
    return reply.result;
  };
}

function connect(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  const message: FromThread = { kind: 'io-port', port: port2 };
  parentPort!.postMessage(message, [port2]);
  // Replies are only ever read synchronously: the port must not keep the thread's event loop alive.
  port1.unref();
  return port1;
}

/**
 * The shim's last-resort cleanup: a FinalizationRegistry that sends a dispose call for each shim object the JS GC
 * collects. Its registrations are recorded here (the shim's module is patched to report them), because a run's
 * end releases all of them at once (endRun).
 */
let registry: FinalizationRegistry<unknown> | undefined;
const registered = new Set<object>();

export function trackDispose(owner: FinalizationRegistry<unknown>, token: object): void {
  registry = owner;
  registered.add(token);
}

export function untrackDispose(token: object): void {
  registered.delete(token);
}

/**
 * A run is over and its instance is never called again: everything its shim objects hold in the service goes now
 * (streams destroyed, requests aborted), not when this thread's GC gets round to them, and their finalizers are
 * cancelled (they would name ids the service no longer has). A thread runs one guest at a time, so all the
 * service holds for it is this run's.
 */
export function endRun(): void {
  for (const token of registered) registry?.unregister(token);
  registered.clear();
  const message: ToIoClientPort = { kind: 'release' };
  port?.postMessage(message);
}
