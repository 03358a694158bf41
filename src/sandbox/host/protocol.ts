/**
 * The message protocol between the pool (main thread) and a sandbox thread. Small and tagged, so the thread
 * boundary is easy to read: the pool sends `init` once and `run` per job; the thread reports `event`s while the
 * guest runs (they survive a timeout, because the pool has them before it terminates the thread) and one `done`.
 */
import type { Denial, HostRequest } from '../envelope.js';
import type { GuestFailure, GuestRequest } from '../guest/protocol.js';
import type { FileGrant } from '../policy/file-policy.js';
import type { Language } from '../runtime/manifest.js';

/** One language's runner, as the threads need it: the jco glue and the compiled core modules. */
export interface RuntimeInit {
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  /** The floor of the imported (per-run, capped) memory in 64 KiB pages. */
  initialMemoryPages: number;
}

export interface ThreadInit {
  /** The runtimes loaded when the thread starts; later ones arrive as `load` messages. */
  runtimes: Partial<Record<Language, RuntimeInit>>;
  /** What the instance a new thread prepares before its first job is for (the default language and `ram`). */
  spare: { language: Language; ramBytes: number };
}

export interface GuestJob {
  id: number;
  language: Language;
  source: string;
  request: GuestRequest;
  fuel: number;
  ramBytes: number;
  outputCapBytes: number;
  files: FileGrant[];
  /** Where HTTP requests go (the main thread's egress, which checks them) and the run's token; null: no network. */
  egress: { authority: string; token: string } | null;
  /** Where sub-task calls go (the pool's loopback endpoint) and the run's token; null where sub-tasks are off. */
  subtasks: { authority: string; token: string } | null;
}

export type ToThread = { kind: 'run'; job: GuestJob } | { kind: 'load'; language: Language; runtime: RuntimeInit };

export type GuestEvent =
  | { kind: 'output'; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'truncated'; stream: 'stdout' | 'stderr' }
  | { kind: 'request'; request: HostRequest }
  | { kind: 'denial'; denial: Denial }
  /** Last fuel and memory readings, sent with host calls so a timed-out run still reports figures. */
  | { kind: 'meter'; fuelConsumed: number; ramUsed: number };

export type GuestOutcome =
  | { status: 'returned'; resultJson: string }
  | { status: 'failed'; failure: GuestFailure }
  | { status: 'trapped'; message: string };

export interface JobDone {
  outcome: GuestOutcome;
  fuelConsumed: number;
  fuelExhausted: boolean;
  ramUsed: number;
  /** The guest tried to grow its memory past ramBytes. */
  memoryAtCap: boolean;
}

export type FromThread =
  | { kind: 'ready' }
  | { kind: 'event'; id: number; event: GuestEvent }
  | { kind: 'done'; id: number; done: JobDone }
  | { kind: 'crashed'; id: number; message: string };
