/** What bench/temporal.ts and bench/temporal-floor.ts measure alike: a fan-out's span in history, and its CPU per step. */
import type { temporal } from '@temporalio/proto';
import { processCpuMs, threadCpuMs } from './cpu-time.js';

/** CPU milliseconds per step: the Temporal server's, and this (the worker's) process's by thread group. */
export interface CpuPerStep {
  server: number;
  main: number;
  native: number;
  sandbox: number;
  other: number;
}

/**
 * Runs `fn`, returning its result and the CPU spent meanwhile divided by `steps`. `sandboxThreads`: the thread ids a
 * Sandbox started (bench/cpu-time.ts `threadIds` before and after it was created), counted apart.
 */
export async function measureCpu<T>(serverPid: number, steps: number, fn: () => Promise<T>, sandboxThreads?: ReadonlySet<string>): Promise<{ result: T; cpu: CpuPerStep }> {
  const server0 = processCpuMs(serverPid);
  const threads0 = threadCpuMs(sandboxThreads);
  const result = await fn();
  const threads1 = threadCpuMs(sandboxThreads);
  const per = (ms: number) => Math.round((ms / steps) * 100) / 100;
  return {
    result,
    cpu: {
      server: per(processCpuMs(serverPid) - server0),
      main: per(threads1.main - threads0.main),
      native: per(threads1.native - threads0.native),
      sandbox: per(Math.max(0, threads1.sandbox - threads0.sandbox)),
      // Threads that ended meanwhile take their time with them: never below zero.
      other: per(Math.max(0, threads1.other - threads0.other)),
    },
  };
}

/** Milliseconds from the first activity scheduled to the last one completed. */
export function fanOutSpan(history: temporal.api.history.v1.IHistory): number {
  return completionTimes(history).at(-1)! - scheduledTimes(history)[0]!;
}

export function completionTimes(history: temporal.api.history.v1.IHistory): number[] {
  return (history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).map(eventMs);
}

export function scheduledTimes(history: temporal.api.history.v1.IHistory): number[] {
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).map(eventMs);
}

function eventMs(event: temporal.api.history.v1.IHistoryEvent): number {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** "12.3 (server 5.1, main 1.4, SDK native 0.8, sandbox threads 3.0, other threads 2.0)" (ms of CPU per step). */
export function formatCpu(cpu: CpuPerStep): string {
  const total = cpu.server + cpu.main + cpu.native + cpu.sandbox + cpu.other;
  const sandbox = cpu.sandbox > 0 ? `, sandbox threads ${cpu.sandbox.toFixed(1)}` : '';
  return `${total.toFixed(1)} (server ${cpu.server.toFixed(1)}, main ${cpu.main.toFixed(1)}, SDK native ${cpu.native.toFixed(1)}${sandbox}, other threads ${cpu.other.toFixed(1)})`;
}
