/**
 * The sandbox's one seam for whoever watches runs (metrics and traces: src/observability). The sandbox calls it and
 * knows nothing of what listens; an observer sees a run's task, language and envelope — never its arguments.
 */
import type { Envelope } from './envelope.js';
import type { Language } from './runtime/manifest.js';

export interface ObservedRun {
  /** The task as requested (its name or export name); the envelope's `execution.task_name` is the resolved one. */
  task: string;
  language: Language;
  /** 0 for a run the caller asked for, 1 for a sub-task it called, and so on. */
  depth: number;
  /** What `runStarted` returned for the run that called this one (sub-tasks only). */
  parent: RunWatch | undefined;
}

export interface RunWatch {
  /** The run ended with this envelope (after host paths and secrets were taken out of it). */
  ended(envelope: Envelope): void;
  /** The host failed around the run (no envelope): a bug or the sandbox closing, never the guest's doing. */
  failed(error: unknown): void;
}

export interface RunObserver {
  /** Called as a run starts, in the caller's async context (so a tracer sees the caller's active span). */
  runStarted(run: ObservedRun): RunWatch;
}

/** The pool's load now: runs waiting for a thread and threads alive (busy or idle, sub-task threads included). */
export interface PoolStats {
  queued: number;
  threads: number;
}
