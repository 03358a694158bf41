/**
 * The main thread's handle on a pool's shared I/O service: one worker thread serving the blocking I/O calls of
 * every sandbox thread of the pool (client.ts, serve-clients.ts), instead of a worker per thread. It starts the
 * first time a thread asks for it (most pools never need it: only a guest's HTTP does), and a service that dies is
 * reported to the pool, which fails the runs waiting on it; the next thread to ask starts a new one.
 */
import { once } from 'node:events';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { FromIoService, IoResourceCounts, ToIoService } from './wire.js';

/** `C`: whatever the pool knows a client by (its thread); handed back when the service a client used stops. */
export class IoService<C> {
  private worker: Worker | undefined;
  /** Each running or dying service's clients. */
  private readonly clients = new WeakMap<Worker, Set<C>>();
  private starting: Promise<Worker> | undefined;

  /**
   * @param script the service's bundled script (io/service-bundle.ts), made when first needed
   * @param onStopped called whenever a service ends (terminated too: threads blocked on it wait for nothing),
   *   with what is known of why and the clients it served
   */
  constructor(
    private readonly script: () => Promise<string>,
    private readonly onStopped: (reason: string, clients: C[]) => void,
  ) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Serves a sandbox thread's port, starting the service if it is not running. */
  async connect(port: MessagePort, client: C): Promise<void> {
    const worker = this.worker ?? (await this.start());
    this.clients.get(worker)!.add(client);
    const message: ToIoService = { kind: 'client', port };
    worker.postMessage(message, [port]);
  }

  /** A client that is gone (its thread retired): it is not reported when the service stops. */
  forget(client: C): void {
    if (this.worker) this.clients.get(this.worker)?.delete(client);
  }

  /** What the service holds for its clients now; null when it is not running. */
  async resourceCounts(): Promise<IoResourceCounts | null> {
    const worker = this.worker;
    if (!worker) return null;
    const reply = once(worker, 'message') as Promise<[FromIoService]>;
    const request: ToIoService = { kind: 'counts' };
    worker.postMessage(request);
    return (await reply)[0].counts;
  }

  /** Ends the service; `onStopped` follows, as for any end. */
  async terminate(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    await worker.terminate();
  }

  private start(): Promise<Worker> {
    this.starting ??= this.script().then((script) => {
      this.starting = undefined;
      // Plain JavaScript: nothing of the parent's loaders (`--import tsx`) is wanted in the service.
      const worker = new Worker(script, { execArgv: [] });
      let failure = '';
      worker.on('error', (error) => { failure = `: ${error.message}`; });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        this.onStopped(`the sandbox's I/O service stopped (exit code ${code}${failure})`, [...this.clients.get(worker)!]);
      });
      // Idle, it must not keep the process alive; the pool terminates it on close.
      worker.unref();
      this.clients.set(worker, new Set());
      this.worker = worker;
      return worker;
    });
    // A script that could not be made fails the threads asking now; the next one tries again.
    this.starting.catch(() => { this.starting = undefined; });
    return this.starting;
  }
}
