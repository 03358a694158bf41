import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { fixtureBundle, repoRoot } from '../helpers.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await Sandbox.create({ poolSize: 1 });
});
afterAll(() => sandbox.close());

const env = { CAPSULE_TEST_VISIBLE: 'seen', CAPSULE_TEST_HIDDEN: 'must not leak', PATH: '/usr/bin' };
const probe = async () => {
  const envelope = await sandbox.run({ bundle: await fixtureBundle('isolation.ts'), baseDir: repoRoot, env });
  expect(envelope.success).toBe(true);
  return { result: envelope.result as Record<string, unknown>, envelope };
};

describe('isolation', () => {
  it('shows only the listed environment variables, and records reads of the others', async () => {
    const { result, envelope } = await probe();
    expect(result.visible).toBe('seen');
    expect(result.hidden).toBeUndefined();
    expect(result.envKeys).toEqual(['CAPSULE_TEST_VISIBLE']);
    expect(envelope.execution.denials).toContainEqual({ capability: 'env', target: 'CAPSULE_TEST_HIDDEN', reason: 'not in envVariables' });
    // Listed but not set on the host: absent, and no denial (the task asked for it; the host just has none).
    expect(result.unset).toBeUndefined();
    expect(envelope.execution.denials.map((d) => d.target)).not.toContain('CAPSULE_TEST_UNSET');
  });

  it('exposes no host globals', async () => {
    const { result } = await probe();
    expect(result.globalRequire).toBe('undefined');
    expect(result.webAssembly).toBe('undefined');
    expect(result.buffer).toBe('undefined');
    expect(result.binding).toBe('undefined');
    expect(result.processKeys).toEqual(['env', 'argv', 'platform', 'exitCode']);
  });

  it('refuses Node built-ins as catchable errors and records them', async () => {
    const { result, envelope } = await probe();
    expect(result.childProcess).toContain("Cannot find module 'node:child_process'");
    expect(result.os).toContain("Cannot find module 'os'");
    expect(envelope.execution.denials).toEqual(
      expect.arrayContaining([
        { capability: 'module', target: 'node:child_process', reason: 'not available in the sandbox' },
        { capability: 'module', target: 'os', reason: 'not available in the sandbox' },
      ]),
    );
  });

  it('never loads a module through an import() built at run time', async () => {
    const envelope = await sandbox.run({ bundle: await fixtureBundle('runtime-import.ts'), baseDir: repoRoot });
    // StarlingMonkey has no loader for it: the guest either gets an error or stops; it never gets the module.
    if (envelope.success) expect(envelope.result).toMatchObject({ escaped: false });
    else expect(envelope.error?.error_type).toBe('internal_error');
    expect((await probe()).result.counter).toBe(1);
  });

  it('provides crypto.getRandomValues, URL and TextEncoder/TextDecoder', async () => {
    const { result } = await probe();
    expect(result.random).toBe(true);
    expect(result.url).toBe('https://example.com/x?y=1');
    expect(result.text).toBe('héllo');
  });

  it('shares no state between two runs on the same thread', async () => {
    const first = await probe();
    const second = await probe();
    expect(first.result.counter).toBe(1);
    expect(second.result.counter).toBe(1);
    expect(first.result.leak).toBe(1);
    expect(second.result.leak).toBe(1);
  });
});
