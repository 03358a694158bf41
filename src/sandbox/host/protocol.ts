/**
 * The message protocol between the pool (main thread) and a sandbox thread. Small and tagged, so the thread
 * boundary is easy to read: the pool sends `run` per job (and `load` for another language's runtime); the thread
 * reports `event`s while the guest runs (they survive a timeout, because the pool has them before it terminates
 * the thread) and one `done`; and an `io-port` the first time its guest needs the shared I/O service. What the thread sends carries guest data (output, paths, the runner's raw reply), so
 * the pool parses every message with `fromThreadSchema`: bounded sizes, nothing it does not expect.
 */
import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { denialSchema, hostRequestSchema } from '../envelope.js';
import type { GuestRequest, TaskContext } from '../guest/protocol.js';
import type { FileGrant } from '../policy/file-policy.js';
import type { ByteRanges } from '../runtime/data-ranges.js';
import type { Language } from '../runtime/manifest.js';
import type { QuotaGrant } from './quota-ledger.js';
import { MAX_FAILURE_CHARS, MAX_LISTED_CHARS, MAX_RESULT_CHARS } from './wire-limits.js';

/** One language's runner, as the threads need it: the jco glue and the compiled core modules. */
export interface RuntimeInit {
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  /** The floor of the imported (per-run, capped) memory in 64 KiB pages. */
  initialMemoryPages: number;
  /** The bytes instantiation overwrites with data segments (runtime/data-ranges.ts). */
  dataRanges: ByteRanges;
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
  /** Directories whose size is limited, with counters shared by every thread (and the host) writing to them. */
  quotas: QuotaGrant[];
  /** Where HTTP requests go (the main thread's egress, which checks them) and the run's token; null: no network. */
  egress: { authority: string; token: string } | null;
  /** Where sub-task calls go (the pool's loopback endpoint) and the run's token; null where sub-tasks are off. */
  subtasks: { authority: string; token: string } | null;
  /** What the guest's context() reads (through the host import); null while the task options are read. */
  context: TaskContext | null;
}

export type ToThread = { kind: 'run'; job: GuestJob } | { kind: 'load'; language: Language; runtime: RuntimeInit };

const stream = z.enum(['stdout', 'stderr']);
const count = z.number().int().nonnegative();

export const guestEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('output'), stream, text: z.string().max(MAX_RESULT_CHARS) }),
  z.object({ kind: z.literal('truncated'), stream }),
  z.object({ kind: z.literal('request'), request: hostRequestSchema.extend({ method: z.string().max(MAX_LISTED_CHARS), url: z.string().max(MAX_LISTED_CHARS) }) }),
  z.object({ kind: z.literal('denial'), denial: denialSchema.extend({ target: z.string().max(MAX_LISTED_CHARS), reason: z.string().max(MAX_LISTED_CHARS) }) }),
  /** Last fuel and memory readings, sent with host calls so a timed-out run still reports figures. */
  z.object({ kind: z.literal('meter'), fuelConsumed: count, ramUsed: count }),
]);
export type GuestEvent = z.infer<typeof guestEventSchema>;

/**
 * The runner's answer, unparsed: the guest's JSON is read on the pool's side (guest-replies.ts), so garbage
 * there is an envelope, never an exception in a thread.
 */
export const guestOutcomeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('returned'), resultJson: z.string().max(MAX_RESULT_CHARS) }),
  z.object({ status: z.literal('failed'), payload: z.string().max(MAX_FAILURE_CHARS) }),
  z.object({ status: z.literal('trapped'), message: z.string().max(MAX_FAILURE_CHARS) }),
]);
export type GuestOutcome = z.infer<typeof guestOutcomeSchema>;

export const jobDoneSchema = z.object({
  outcome: guestOutcomeSchema,
  fuelConsumed: count,
  fuelExhausted: z.boolean(),
  ramUsed: count,
  /** The guest tried to grow its memory past ramBytes. */
  memoryAtCap: z.boolean(),
});
export type JobDone = z.infer<typeof jobDoneSchema>;

const id = z.number().int();
export const fromThreadSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({ kind: z.literal('event'), id, event: guestEventSchema }),
  z.object({ kind: z.literal('done'), id, done: jobDoneSchema }),
  z.object({ kind: z.literal('crashed'), id, message: z.string().max(MAX_FAILURE_CHARS) }),
  /** The thread's end of a channel to the pool's shared I/O service, sent at its first blocking I/O call (io/client.ts). */
  z.object({ kind: z.literal('io-port'), port: z.instanceof(MessagePort) }),
]);
export type FromThread = z.infer<typeof fromThreadSchema>;
