/**
 * A bounded pool of sandbox threads. Jobs beyond the pool's size wait in a queue, so a burst of runs never
 * oversubscribes the CPU. Nested runs (sub-tasks) skip the queue on extra threads: a parent holds its thread
 * while it waits for its children, and queueing them behind it could deadlock. Extra threads are capped too (a
 * guest calling thousands of sub-tasks at once must not exhaust the host); past the cap, nested runs wait at the
 * front of the queue and every parent's own timeout still bounds the wait. A thread whose guest timed out,
 * was cancelled or trapped is terminated and replaced: nothing it held can leak into the next job.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { IoService } from './io/service.js';
import { type FromThread, fromThreadSchema, type GuestEvent, type GuestJob, type JobDone, type RuntimeInit, type ThreadInit, type ToThread } from './host/protocol.js';
import type { Language } from './runtime/manifest.js';

export type JobEnd =
  | { kind: 'done'; done: JobDone }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'crashed'; message: string };

export interface JobResult {
  end: JobEnd;
  events: GuestEvent[];
  /** Time the guest had a thread, from dispatch to end. */
  runMs: number;
}

export interface JobOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  nested?: boolean;
  onEvent?: (event: GuestEvent) => void;
}

interface PendingJob {
  job: Omit<GuestJob, 'id'>;
  options: JobOptions;
  resolve: (result: JobResult) => void;
  /** While queued: takes the job out of the queue when its signal aborts. */
  onQueuedAbort?: () => void;
}

class SandboxThread {
  private readonly worker: Worker;
  readonly ready: Promise<void>;
  private listener: ((message: FromThread) => void) | undefined;
  private exitListener: ((code: number) => void) | undefined;
  private jobId = 0;

  constructor(script: string, init: ThreadInit, onIoPort: (port: MessagePort) => void) {
    // No inherited execArgv: a parent started with `--import tsx` would load the TypeScript loader (and its
    // esbuild service) into every sandbox thread; the thread script is plain JavaScript. trackUnmanagedFds (Node's
    // default, set here because correctness depends on it): whatever descriptors a thread still holds when it is
    // terminated mid-call, Node closes as it exits (host/fd-ledger.ts).
    this.worker = new Worker(script, { workerData: init, execArgv: [], trackUnmanagedFds: true });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: FromThread) => {
        if (message.kind === 'ready') {
          this.worker.off('message', onMessage);
          resolve();
        }
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', reject);
    });
    // Messages carry guest data: each is parsed, and one that does not fit the protocol ends the job it belongs to.
    this.worker.on('message', (message: unknown) => {
      const parsed = fromThreadSchema.safeParse(message);
      if (parsed.success && parsed.data.kind === 'io-port') return onIoPort(parsed.data.port);
      this.listener?.(parsed.success ? parsed.data : { kind: 'crashed', id: this.jobId, message: 'the sandbox thread sent a malformed message' });
    });
    this.worker.on('exit', (code) => this.exitListener?.(code));
    this.worker.on('error', () => {});
  }

  run(job: GuestJob, onMessage: (message: FromThread) => void, onExit: (code: number) => void): void {
    this.jobId = job.id;
    this.listener = onMessage;
    this.exitListener = onExit;
    this.post({ kind: 'run', job });
  }

  /** Ends the running job as crashed (the pool then retires the thread); false if the thread has no job. */
  fail(message: string): boolean {
    if (!this.listener) return false;
    this.listener({ kind: 'crashed', id: this.jobId, message });
    return true;
  }

  post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  release(): void {
    this.listener = undefined;
    this.exitListener = undefined;
  }

  terminate(): Promise<number> {
    this.release();
    return this.worker.terminate();
  }
}

export class ThreadPool {
  private readonly idle: SandboxThread[] = [];
  /** Every thread started and not yet retired, busy or idle (its size is the pool's thread count). */
  private readonly live = new Set<SandboxThread>();
  private readonly queue: PendingJob[] = [];
  private nextId = 1;
  private closed = false;
  /** One per pool, started at the first thread's blocking I/O call (io/service.ts). */
  readonly io: IoService<SandboxThread>;

  constructor(
    private readonly scripts: { thread: string; io: () => Promise<string> },
    private init: ThreadInit,
    readonly size: number,
    private readonly maxExtraThreads = size * 4,
  ) {
    this.io = new IoService(scripts.io, (reason, clients) => this.ioStopped(reason, clients));
  }

  /** Jobs waiting for a thread. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Threads alive now, extra ones for nested runs included. */
  get threadCount(): number {
    return this.live.size;
  }

  /**
   * Makes another language's runner available to every thread, running or not. A thread reads its messages in
   * order, so a job posted after this finds the runtime loaded.
   */
  addRuntime(language: Language, runtime: RuntimeInit): void {
    this.init = { ...this.init, runtimes: { ...this.init.runtimes, [language]: runtime } };
    for (const thread of this.live) thread.post({ kind: 'load', language, runtime });
  }

  /** Starts every thread up front, so the first runs don't pay for thread start-up. */
  async warm(): Promise<void> {
    const threads = Array.from({ length: this.size - this.live.size }, () => this.spawn());
    await Promise.all(threads.map((t) => t.ready));
    this.idle.push(...threads);
  }

  execute(job: Omit<GuestJob, 'id'>, options: JobOptions): Promise<JobResult> {
    if (this.closed) return Promise.resolve({ end: { kind: 'crashed', message: 'the sandbox is closed' }, events: [], runMs: 0 });
    return new Promise((resolve) => {
      const pending: PendingJob = { job, options, resolve };
      if (options.signal?.aborted) return resolve({ end: { kind: 'aborted' }, events: [], runMs: 0 });
      const thread = this.idle.shift();
      if (thread) return void this.dispatch(thread, pending);
      if (this.live.size < this.size || (options.nested && this.live.size < this.size + this.maxExtraThreads)) {
        return void this.dispatch(this.spawn(), pending);
      }
      if (options.nested) this.queue.unshift(pending);
      else this.queue.push(pending);
      // A caller that ends while its job waits (a parent timing out with children queued) takes the job along.
      pending.onQueuedAbort = () => {
        const index = this.queue.indexOf(pending);
        if (index !== -1) this.queue.splice(index, 1);
        resolve({ end: { kind: 'aborted' }, events: [], runMs: 0 });
      };
      options.signal?.addEventListener('abort', pending.onQueuedAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.resolve({ end: { kind: 'crashed', message: 'the sandbox was closed' }, events: [], runMs: 0 });
    await Promise.all(this.idle.splice(0).map((t) => { this.live.delete(t); return t.terminate(); }));
    // Runs still going finish as before; the I/O service they may be using ends with the last of them (retire).
    if (this.live.size === 0) await this.io.terminate();
  }

  private spawn(): SandboxThread {
    const thread: SandboxThread = new SandboxThread(this.scripts.thread, this.init, (port) => this.connectIo(thread, port));
    this.live.add(thread);
    return thread;
  }

  private retire(thread: SandboxThread): void {
    this.live.delete(thread);
    this.io.forget(thread);
    void thread.terminate();
    if (this.closed && this.live.size === 0) void this.io.terminate();
  }

  /** A thread's first blocking I/O call: its port goes to the shared service (started now if it is not running). */
  private connectIo(thread: SandboxThread, port: MessagePort): void {
    if (this.closed) {
      port.close();
      thread.fail('the sandbox was closed');
      return;
    }
    this.io.connect(port, thread).catch((error: unknown) => thread.fail(`the sandbox's I/O service could not start: ${String(error)}`));
  }

  /**
   * A service that ends leaves its clients blocked on calls nobody will answer: a thread running a job fails it
   * (and is retired, as after any crash), an idle one is replaced. The next thread to need I/O starts a new service.
   */
  private ioStopped(reason: string, clients: SandboxThread[]): void {
    for (const thread of clients) {
      if (!this.live.has(thread) || thread.fail(reason)) continue;
      const index = this.idle.indexOf(thread);
      if (index !== -1) this.idle.splice(index, 1);
      this.retire(thread);
      this.refill();
    }
  }

  private async dispatch(thread: SandboxThread, pending: PendingJob): Promise<void> {
    const { job, options, resolve } = pending;
    if (pending.onQueuedAbort) options.signal?.removeEventListener('abort', pending.onQueuedAbort);
    try {
      await thread.ready;
    } catch (error) {
      this.live.delete(thread);
      resolve({ end: { kind: 'crashed', message: `a sandbox thread failed to start: ${String(error)}` }, events: [], runMs: 0 });
      return this.refill();
    }
    // Checked here, not only when queued: a listener added to a signal that has already aborted never fires.
    if (options.signal?.aborted) {
      resolve({ end: { kind: 'aborted' }, events: [], runMs: 0 });
      return this.giveBack(thread);
    }
    const id = this.nextId++;
    const events: GuestEvent[] = [];
    const started = performance.now();
    let settled = false;
    const finish = (end: JobEnd, recycle: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ end, events, runMs: performance.now() - started });
      if (recycle) {
        this.retire(thread);
        this.refill();
      } else {
        thread.release();
        this.giveBack(thread);
      }
    };
    const onAbort = () => finish({ kind: 'aborted' }, true);
    const timer = setTimeout(() => finish({ kind: 'timeout' }, true), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    thread.run(
      { ...job, id },
      (message) => {
        if (message.kind === 'event' && message.id === id) {
          events.push(message.event);
          options.onEvent?.(message.event);
        } else if (message.kind === 'done' && message.id === id) {
          finish({ kind: 'done', done: message.done }, message.done.outcome.status === 'trapped');
        } else if (message.kind === 'crashed' && message.id === id) {
          finish({ kind: 'crashed', message: message.message }, true);
        }
      },
      (code) => finish({ kind: 'crashed', message: `the sandbox thread exited (code ${code})` }, true),
    );
  }

  private giveBack(thread: SandboxThread): void {
    const next = this.queue.shift();
    if (next) return void this.dispatch(thread, next);
    if (this.closed || this.live.size > this.size) {
      // A thread finishing after close, or an extra thread started for a nested run: the pool goes back to its size.
      this.retire(thread);
      return;
    }
    this.idle.push(thread);
  }

  /** Replaces a terminated thread, and starts queued work on it. */
  private refill(): void {
    if (this.closed || this.live.size >= this.size) return;
    const thread = this.spawn();
    const next = this.queue.shift();
    if (next) return void this.dispatch(thread, next);
    thread.ready.then(
      () => (this.closed ? this.retire(thread) : this.giveBack(thread)),
      () => { this.live.delete(thread); },
    );
  }
}
