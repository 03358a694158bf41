import { describe, expect, it } from 'vitest';
import { usePythonSandbox } from './python.js';

// One thread: two runs in a row land on the same thread, so leftover state would show.
const py = usePythonSandbox({ poolSize: 1 });

const env = { CAPSULE_TEST_VISIBLE: 'seen', CAPSULE_TEST_HIDDEN: 'must not leak', PATH: '/usr/bin', HOME: '/home/host' };
const probe = async (hostEnv: Record<string, string | undefined> = env) => {
  const envelope = await py.run('isolation.py', 'main', [], { env: hostEnv });
  expect(envelope.error).toBeNull();
  return { result: envelope.result as Record<string, unknown>, envelope };
};

describe('environment', () => {
  it('shows only the listed variables, and records reads of the others as env denials', async () => {
    const { result, envelope } = await probe();
    expect(result.visible).toBe('seen');
    expect(result.unset).toBeNull();
    expect(result.hidden).toBeNull();
    expect(result.hidden_in).toBe(false);
    expect(result.getenv_hidden).toBeNull();
    expect(result.path).toBeNull();
    expect(result.home).toBeNull();
    expect(result.env_keys).toEqual(['CAPSULE_TEST_VISIBLE']);
    const envDenials = envelope.execution.denials.filter((d) => d.capability === 'env');
    expect(envDenials.length).toBe(envelope.execution.denials.length);
    const targets = envDenials.map((d) => d.target);
    expect(targets).toEqual(expect.arrayContaining(['CAPSULE_TEST_HIDDEN', 'PATH', 'HOME']));
    expect(targets).not.toContain('CAPSULE_TEST_VISIBLE');
    // Listed but not set on the host: absent, and no denial (the task asked for it; the host just has none).
    expect(targets).not.toContain('CAPSULE_TEST_UNSET');
    // Each name once, however often the task read it.
    expect(new Set(targets).size).toBe(targets.length);
    for (const denial of envDenials) expect(denial.reason).toMatch(/not in env_?variables/i);
  });

  it('never leaks the host process environment', async () => {
    // The worker's own environment, with the variables every host has set whether or not this one does.
    const { result } = await probe({ ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/worker' });
    expect(result.env_keys).toEqual([]);
    expect(result.path).toBeNull();
    expect(result.home).toBeNull();
  });
});

describe('modules', () => {
  it('makes an unavailable module a catchable ModuleNotFoundError inside a task, and records it', async () => {
    const envelope = await py.run('isolation.py', 'lazy-import');
    expect(envelope.success).toBe(true);
    expect(envelope.result).toMatchObject({ imported: false, type: 'ModuleNotFoundError', name: 'numpy' });
    expect((envelope.result as { message: string }).message).toContain('numpy');
    expect(envelope.execution.denials).toEqual([{ capability: 'module', target: 'numpy', reason: expect.any(String) }]);
  });

  it('provides the pure-Python standard library', async () => {
    const envelope = await py.run('isolation.py', 'stdlib');
    expect(envelope.error).toBeNull();
    expect(envelope.result).toEqual({
      json: { a: [1, 2.5, null, true] },
      re: ['1', '22', '333'],
      counter: [['the', 2]],
      dataclass: { x: 1, y: 2 },
    });
  });
});

describe('state', () => {
  it('shares no state between two runs on the same thread', async () => {
    const first = await probe();
    const second = await probe();
    expect(first.result.counter).toBe(1);
    expect(second.result.counter).toBe(1);
    expect(first.result.leak).toBe(1);
    expect(second.result.leak).toBe(1);
  });

  // The next instance's memory is the last run's, cleaned (host/memory-recycler.ts) unless the guest grew it: either
  // way, nothing a run left (in the snapshot's objects, new objects, or raw heap) reaches the next one.
  it('leaves nothing for the next run, in a recycled memory or a new one', async () => {
    const clean = { snapshot_module: null, snapshot_list: false, new_module: false };
    for (const megabytes of [1, 1, 64, 1]) {
      const envelope = await py.run('isolation.py', 'residue', [megabytes]);
      expect(envelope.error).toBeNull();
      expect(envelope.result).toEqual(clean);
    }
  });
});
