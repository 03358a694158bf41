/** `capsule worker` processes of the cluster test, with their metrics endpoints and memory. */
import { readFileSync } from 'node:fs';
import { pickPort } from '../../src/client/dev-server.js';
import { CLI, cleanEnv, waitFor } from '../temporal/processes.js';
import type { Child, Children } from './children.js';

export interface ClusterWorker {
  child: Child;
  pid: number;
  metricsUrl: string;
  /** Highest resident memory seen by sample() (bytes). */
  peakRssBytes: number;
  sample(): void;
}

export interface WorkerSettings {
  address: string;
  taskQueue: string;
  /** Where the workers run (and resolve allowedFiles, through each step's baseDir). */
  cwd: string;
  env: Record<string, string>;
  concurrency: number;
}

let counter = 0;

export async function startWorker(children: Children, settings: WorkerSettings): Promise<ClusterWorker> {
  const metricsPort = await pickPort();
  const child = children.spawn(`capsule worker ${++counter}`, process.execPath, [CLI, 'worker', '--concurrency', String(settings.concurrency), '--shutdown-grace', '5', '--metrics', `127.0.0.1:${metricsPort}`], {
    cwd: settings.cwd,
    env: cleanEnv({ ...settings.env, TEMPORAL_ADDRESS: settings.address, CAPSULE_TASK_QUEUE: settings.taskQueue }),
  });
  await waitFor(`capsule worker ${counter} to poll`, () => {
    if (child.process.exitCode !== null) throw new Error(`capsule worker exited with ${child.process.exitCode}:\n${child.output()}`);
    return child.output().includes('"state":"RUNNING"') ? true : undefined;
  }, 180_000);
  const worker: ClusterWorker = {
    child,
    pid: child.pid,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    peakRssBytes: 0,
    sample() {
      worker.peakRssBytes = Math.max(worker.peakRssBytes, rssBytes(child.pid));
    },
  };
  worker.sample();
  return worker;
}

/** Resident memory of a process (its threads included: the sandbox pool), from /proc; 0 once it is gone. */
export function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? 0 : Number(line.replace(/\D+/g, '')) * 1024;
  } catch {
    return 0;
  }
}

export function alive(worker: ClusterWorker): boolean {
  return worker.child.process.exitCode === null && worker.child.process.signalCode === null;
}
