/**
 * Every process the cluster test starts, so none outlives it: each runs in a process group of its own (killed as a
 * group, children included) under a parent-death signal (SIGKILL from the kernel if this process dies without
 * cleaning up, even by SIGKILL). `stopAll` ends them all and reports any that survived.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { withLifeline } from '../../src/client/dev-server.js';
import { descendants, running } from '../temporal/processes.js';

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) once it has ended. */
  exited: Promise<number | string | null>;
  /** stdout and stderr, the last 20 KB. */
  output(): string;
  /** Sends `signal` to its whole process group and waits for it to end. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export class Children {
  private readonly live = new Set<Child>();

  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
    const [file, argv] = withLifeline(command, args, 'SIGKILL');
    const proc = spawn(file, argv, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
    const child: Child = {
      name,
      process: proc,
      pid: proc.pid ?? -1,
      exited,
      output: () => output,
      stop: async (signal = 'SIGTERM') => {
        if (proc.exitCode === null && proc.signalCode === null) {
          signalGroup(child.pid, signal);
          const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        // Whatever the group still holds (a child that ignored the signal) goes too.
        signalGroup(child.pid, 'SIGKILL');
      },
    };
    proc.once('error', () => {});
    this.live.add(child);
    void exited.then(() => this.live.delete(child));
    return child;
  }

  /** Every child still running, and the processes below them. */
  pids(): number[] {
    return [...this.live].flatMap((c) => [c.pid, ...descendants(c.pid)]).filter(running);
  }

  /** Stops every child (SIGTERM, then SIGKILL after 15 s); returns the pids still running afterwards. */
  async stopAll(): Promise<number[]> {
    const tree = this.pids();
    await Promise.all([...this.live].map((c) => c.stop()));
    for (const pid of tree.filter(running)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    return tree.filter(running);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}
