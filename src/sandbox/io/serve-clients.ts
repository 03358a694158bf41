/**
 * Inside the shared I/O service (bundled with preview2-shim's dist/io/worker-thread.js: io/service-bundle.ts):
 * synckit's `runAsWorker`, which serves one thread, replaced by one serving every sandbox thread of the pool, each
 * on its own port; and the ownership of what each client creates in the shim's maps, so that a client whose thread
 * was terminated (a timeout in the middle of an HTTP request) leaves nothing behind.
 *
 * Isolation: the shim's maps (streams, futures, polls) are keyed by global numbers shared by all clients, but a
 * guest never names one. It holds component handles to shim objects in its own thread; those objects hold the
 * numbers and pass them here. So a guest can only reach what its own thread's shim created.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { FromIoService, IoReply, IoResourceCounts, ToIoClientPort, ToIoService } from './wire.js';

/** One listener per request in flight: a guest may have many at once (sub-task fan-outs), each removed as it ends. */
function requestController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

class Client {
  /** Aborts the client's outgoing HTTP requests when its run ends (the shim's request options carry the signal). */
  requests = requestController();
  closed = false;
  /** An internal error met while serving this client's run: its later calls fail with it (the shim's own rule). */
  failure: unknown;
}

const current = new AsyncLocalStorage<Client>();
const clients = new Set<Client>();
const ownedMaps: OwnedMap<unknown>[] = [];

/**
 * One of the shim's maps, recording which client created each entry (the client whose call, or whose call's
 * continuations, sets it). An entry set for a client that has gone is released at once.
 */
export class OwnedMap<V> extends Map<number, V> {
  private readonly owners = new Map<number, Client>();

  constructor(readonly label: keyof Omit<IoResourceCounts, 'clients'>, private readonly release: (value: V) => void) {
    super();
    ownedMaps.push(this as OwnedMap<unknown>);
  }

  override set(id: number, value: V): this {
    super.set(id, value);
    const owner = current.getStore();
    if (owner) {
      this.owners.set(id, owner);
      if (owner.closed) this.releaseOwned(owner);
    }
    return this;
  }

  override delete(id: number): boolean {
    this.owners.delete(id);
    return super.delete(id);
  }

  releaseOwned(client: Client): void {
    for (const [id, owner] of this.owners) {
      if (owner !== client) continue;
      const value = this.get(id);
      this.delete(id);
      if (value !== undefined) this.release(value);
    }
  }
}

/** The stream entry's Node stream is destroyed: its pending reads end, its socket (an HTTP body) is freed. */
export function destroyStream(entry: unknown): void {
  (entry as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

/** The signal for an outgoing HTTP request made now: the calling client's. */
export function requestSignal(): AbortSignal | undefined {
  return current.getStore()?.requests.signal;
}

/**
 * An error the shim would record for the whole worker (an uncaught exception, a poll readied twice): recorded for
 * the client it happened under. Outside any client it is the service's own fault: it exits, the pool fails the
 * runs using it and starts a new service for the next (pool.ts).
 */
export function recordFailure(error: unknown): void {
  const client = current.getStore();
  if (client) client.failure ??= error;
  else setImmediate(() => process.exit(1));
}

/** Throws the calling client's recorded failure, as the shim throws its worker's before each call. */
export function throwRecordedFailure(): void {
  const failure = current.getStore()?.failure;
  if (failure !== undefined) throw failure;
}

function serve(port: MessagePort, fn: (...args: unknown[]) => unknown): void {
  const client = new Client();
  clients.add(client);
  port.on('message', (message: ToIoClientPort) => {
    if ('kind' in message) return release(client);
    const { sharedBuffer, cid, args } = message;
    void current.run(client, async () => {
      let reply: IoReply;
      try {
        reply = { cid, result: await fn(...args) };
      } catch (error) {
        reply = { cid, error, properties: ownProperties(error) };
      }
      if (client.closed) return;
      port.postMessage(reply);
      const view = new Int32Array(sharedBuffer);
      Atomics.add(view, 0, 1);
      Atomics.notify(view, 0);
    });
  });
  // The thread's end closes when the thread is terminated (or exits): release everything it created.
  port.once('close', () => {
    client.closed = true;
    clients.delete(client);
    release(client);
  });
}

/**
 * Everything the client's run made: requests aborted, streams destroyed, futures and polls dropped. A failure
 * recorded for the run goes too: what it concerned is gone, and the thread's next run starts clean.
 */
function release(client: Client): void {
  client.requests.abort();
  client.requests = requestController();
  client.failure = undefined;
  for (const map of ownedMaps) map.releaseOwned(client);
}

function ownProperties(error: unknown): Record<string, unknown> | undefined {
  if (!error || typeof error !== 'object') return undefined;
  return { ...(error as Record<string, unknown>) };
}

/** Entries the shim makes for itself as it loads (its stdout and stderr streams), not counted as a client's. */
const baseline = new Map<OwnedMap<unknown>, number>();

function counts(): IoResourceCounts {
  const result: IoResourceCounts = { clients: clients.size, streams: 0, futures: 0, polls: 0 };
  for (const map of ownedMaps) result[map.label] += map.size - (baseline.get(map) ?? 0);
  return result;
}

/** synckit's name and signature: the shim's worker calls it with its call handler. */
export function runAsWorker(fn: (...args: unknown[]) => unknown): boolean {
  for (const map of ownedMaps) baseline.set(map, map.size);
  parentPort!.on('message', (message: ToIoService) => {
    if (message.kind === 'client') return serve(message.port, fn);
    const reply: FromIoService = { kind: 'counts', counts: counts() };
    parentPort!.postMessage(reply);
  });
  return false;
}
