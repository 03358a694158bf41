/**
 * CPU time of processes and of this process's threads, from /proc (Linux), for benchmarks that say where a step's
 * CPU goes: the Temporal server is a process of its own; the worker's main thread, its sandbox and workflow threads
 * and the SDK's native (tokio) threads are threads of this one.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process (all its threads), in ms. */
export function processCpuMs(pid: number): number {
  return cpuOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** The ids of this process's threads alive now (to tell apart the ones something starts: `threadCpuMs`). */
export function threadIds(): Set<string> {
  return new Set(readdirSync(`/proc/${process.pid}/task`));
}

/**
 * CPU time of this process's threads, in ms, grouped: "main" (the event loop: activities, the SDK's JavaScript),
 * "native" (the Temporal SDK's Rust threads, named tokio-*), "sandbox" (the threads in `sandboxThreads`: Linux names
 * every Node thread alike, so the caller says which ones a Sandbox started), "other" (the SDK's workflow thread,
 * V8's and libuv's helpers).
 */
export function threadCpuMs(sandboxThreads: ReadonlySet<string> = new Set()): Record<'main' | 'native' | 'sandbox' | 'other', number> {
  const totals = { main: 0, native: 0, sandbox: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const group = tid === String(process.pid) ? 'main' : name.startsWith('tokio') ? 'native' : sandboxThreads.has(tid) ? 'sandbox' : 'other';
    totals[group] += cpuOf(stat);
  }
  return totals;
}

function cpuOf(stat: string): number {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
