import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/sandbox/index.js';
import { fixtureBundle, useSandboxAndDir } from '../helpers.js';

const shared = useSandboxAndDir();

const run = async (mode: string, url?: string) => {
  const defaults = url ? { allowedHosts: [new URL(url).host] } : undefined;
  const envelope = await shared.sandbox().run({ bundle: await fixtureBundle('subtasks.ts'), args: url ? [mode, url] : [mode], baseDir: shared.dir().base, defaults });
  expect(envelope.success).toBe(true);
  return envelope.result;
};

describe('sub-tasks', () => {
  it('runs a called task in its own sandbox with its own limits and resolves to its envelope', async () => {
    const child = (await run('one')) as Envelope;
    expect(child.success).toBe(true);
    expect(child.result).toMatchObject({ n: 1000, sum: 499500 });
    expect(child.execution).toMatchObject({ task_name: 'child', fuel_limit: 100_000_000, ram_limit: 48 * 1024 * 1024 });
  });

  it('applies the child\'s own fuel budget, not the parent\'s', async () => {
    const child = (await run('limits')) as Envelope;
    expect(child.error?.error_type).toBe('fuel_exhausted');
    expect(child.execution.fuel_limit).toBe(100_000_000);
  });

  it('keeps the parent alive when a child fails', async () => {
    const result = (await run('failing')) as { survived: boolean; failed: Envelope };
    expect(result.survived).toBe(true);
    expect(result.failed.error).toEqual({ error_type: 'task_error', message: 'Error: child failed on purpose' });
  });

  it('runs concurrent calls concurrently', async () => {
    // A barrier that answers nobody until all three children are waiting at it at once.
    const waiting: http.ServerResponse[] = [];
    const server = http.createServer((_req, res) => {
      waiting.push(res);
      if (waiting.length === 3) for (const r of waiting) r.end('all three arrived');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/barrier`;
      const children = (await run('concurrent', url)) as Envelope[];
      expect(children.map((c) => c.result)).toEqual([0, 1, 2].map((i) => ({ i, opened: 'all three arrived' })));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('bounds the threads a flood of concurrent sub-tasks can start, and still runs them all', async () => {
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, shared.sandbox().threadCount)), 5);
    const succeeded = await run('flood');
    clearInterval(sampler);
    expect(succeeded).toBe(40);
    expect(most).toBeLessThanOrEqual(shared.sandbox().poolSize * 5);
  });

  it('refuses sub-tasks nested deeper than 8 levels, as an envelope the caller can read', async () => {
    const envelope = await shared.sandbox().run({ bundle: await fixtureBundle('subtasks.ts'), task: 'recurse', args: [0], baseDir: shared.dir().base });
    expect(envelope.success).toBe(true);
    expect(envelope.result).toEqual({ deepest: 8, refused: { error_type: 'invalid_task', message: 'sub-tasks nest deeper than 8 levels' } });
  });

  it('never gives a child more than its own declaration, even when the parent may read files', async () => {
    const child = (await run('escalate')) as Envelope;
    expect(child.result).toMatch(/^denied: permission denied/);
    expect(child.execution.denials).toEqual([expect.objectContaining({ capability: 'file', target: './data/input.txt' })]);
  });
});
