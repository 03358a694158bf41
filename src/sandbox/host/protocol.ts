/**
 * The message protocol between the pool (main thread) and a sandbox thread. Small and tagged, so the thread
 * boundary is easy to read: the pool sends `init` once and `run` per job; the thread reports `event`s while the
 * guest runs (they survive a timeout, because the pool has them before it terminates the thread) and one `done`.
 */
import type { Denial, HostRequest } from '../envelope.js';
import type { GuestFailure, GuestRequest } from '../guest/protocol.js';
import type { FileGrant } from '../policy/file-policy.js';

export interface ThreadInit {
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  initialMemoryPages: number;
  /** Memory cap of the instance a new thread prepares before its first job (the default `ram`). */
  spareRamBytes: number;
}

export interface GuestJob {
  id: number;
  source: string;
  request: GuestRequest;
  fuel: number;
  ramBytes: number;
  outputCapBytes: number;
  files: FileGrant[];
  hosts: string[];
  /** Where sub-task calls go (the pool's loopback endpoint) and the run's secret; null where sub-tasks are off. */
  subtasks: { authority: string; token: string } | null;
}

export type ToThread = { kind: 'run'; job: GuestJob };

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
