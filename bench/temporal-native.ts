/**
 * A TaskRunner that runs a task bundle's function directly in Node (no sandbox, no limits), for benchmarks only:
 * the same pipelines with and without the sandbox show the sandbox's share of a step's cost. Never use it for
 * untrusted code.
 */
import type { TaskRunner } from '../src/activities/index.js';
import type { Envelope, RunRequest } from '../src/sandbox/index.js';

interface NativeTask {
  options: { name: string };
  fn: (...args: unknown[]) => unknown;
}

export class NativeRunner implements TaskRunner {
  private readonly modules = new Map<string, Record<string, unknown>>();

  async run(request: RunRequest): Promise<Envelope> {
    const started = performance.now();
    const exports = this.load(request.bundle.sha256, request.bundle.code);
    const wanted = request.task ?? 'main';
    const found = Object.values(exports).find((v): v is NativeTask => isNativeTask(v) && v.options.name === wanted);
    const execution = { task_name: wanted, duration_ms: 0, retries: 0, fuel_consumed: 0, fuel_limit: 0, ram_used: 0, ram_limit: 0, host_requests: [], denials: [], stdout: '', stderr: '', truncated: false };
    if (found === undefined) return { success: false, result: null, error: { error_type: 'invalid_task', message: `no task ${wanted}` }, execution };
    try {
      const result = await found.fn(...(request.args ?? []));
      return { success: true, result, error: null, execution: { ...execution, duration_ms: Math.round(performance.now() - started) } };
    } catch (error) {
      return { success: false, result: null, error: { error_type: 'task_error', message: String(error) }, execution: { ...execution, duration_ms: Math.round(performance.now() - started) } };
    }
  }

  private load(sha256: string, code: string): Record<string, unknown> {
    let exports = this.modules.get(sha256);
    if (exports === undefined) {
      const module = { exports: {} as Record<string, unknown> };
      const capsule = { task: (options: { name: string }, fn: NativeTask['fn']): NativeTask => ({ options, fn }) };
      const require = (name: string) => {
        if (name === 'capsule') return capsule;
        throw new Error(`native bench runner: module ${name} is not available`);
      };
      new Function('require', 'module', 'exports', code)(require, module, module.exports);
      exports = module.exports;
      this.modules.set(sha256, exports);
    }
    return exports;
  }
}

function isNativeTask(value: unknown): value is NativeTask {
  return typeof value === 'object' && value !== null && 'fn' in value && 'options' in value;
}
