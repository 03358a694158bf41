/**
 * The shared I/O service's wire, as preview2-shim's synckit copy speaks it: a blocking call posts a request on its
 * thread's port and sleeps on `sharedBuffer` (Atomics.wait) until the service has posted the reply and bumped the
 * buffer's first int32. Types only: the thread side (client.ts) and the service side (serve-clients.ts) import them.
 */
export interface IoRequest {
  sharedBuffer: SharedArrayBuffer;
  /** Numbers the thread's calls, so a reply read is checked against the call that waits for it. */
  cid: number;
  /** The shim's `ioCall(call, id, payload)` arguments. */
  args: unknown[];
}

export interface IoReply {
  cid: number;
  result?: unknown;
  error?: unknown;
  /** An Error's own enumerable fields (the shim's error codes ride on them); structured cloning drops them. */
  properties?: Record<string, unknown>;
}

/** What arrives on a client's port: its calls, and the end of each of its runs (release what the run left). */
export type ToIoClientPort = IoRequest | { kind: 'release' };

/** What the main thread sends the service: a sandbox thread's port to serve. */
export type ToIoService = { kind: 'client'; port: import('node:worker_threads').MessagePort } | { kind: 'counts' };

/** Resources the service holds for its clients: all zero when no client is connected (test/sandbox/io-service.test.ts). */
export interface IoResourceCounts {
  clients: number;
  streams: number;
  futures: number;
  polls: number;
}

export type FromIoService = { kind: 'counts'; counts: IoResourceCounts };
