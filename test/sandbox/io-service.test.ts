/**
 * The pool's shared I/O service (src/sandbox/io): every sandbox thread's blocking shim calls (a guest's HTTP) go
 * to one worker per pool. Real Wasm guests, HTTP to a loopback server only.
 */
import http from 'node:http';
import { closeLoopback, listenOnLoopback } from '../support/loopback-server.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { fixtureBundle, repoRoot } from '../helpers.js';

const POOL = 3;
let sandbox: Sandbox;
let server: http.Server;
let base: string;
/** Requests to /gather are answered together, once `gather` of them are waiting: only concurrent guests get replies. */
let gather = POOL;
const gathered: http.ServerResponse[] = [];
const hanging = new Set<http.ServerResponse>();

beforeAll(async () => {
  sandbox = await Sandbox.create({ poolSize: POOL });
  server = http.createServer((req, res) => {
    if (req.url === '/hang') return void hanging.add(res);
    if (req.url !== '/gather') return void res.end(`served ${req.url}`);
    gathered.push(res);
    if (gathered.length >= gather) for (const waiting of gathered.splice(0)) waiting.end('together');
  });
  base = await listenOnLoopback(server);
});
afterAll(async () => {
  await sandbox.close();
  await closeLoopback(server);
});

const run = async (task: string, url: string) =>
  sandbox.run({ bundle: await fixtureBundle('network.ts'), task, args: [url], baseDir: repoRoot, defaults: { allowedHosts: [new URL(base).host] } });

const idleCounts = { streams: 0, futures: 0, polls: 0 };

describe('the shared I/O service', () => {
  it('starts only when a guest first needs it', async () => {
    expect(sandbox.ioService.running).toBe(false);
    expect(await sandbox.ioService.resourceCounts()).toBeNull();
    await run('main', `${base}/first`);
    expect(sandbox.ioService.running).toBe(true);
  });

  it('serves several sandboxes waiting on HTTP at once, from one service', async () => {
    const envelopes = await Promise.all(Array.from({ length: POOL }, () => run('main', `${base}/gather`)));
    for (const envelope of envelopes) expect(envelope.result).toEqual({ ok: true, status: 200, body: 'together' });
    // Every thread of the pool is a client of the one service, and nothing of their requests is left in it.
    await vi.waitFor(async () => expect(await sandbox.ioService.resourceCounts()).toEqual({ clients: POOL, ...idleCounts }), { timeout: 10_000 });
  });

  it('releases what a thread terminated in the middle of a request held, and serves the next run', async () => {
    const envelope = await run('hang', `${base}/hang`);
    expect(envelope.error?.error_type).toBe('timeout');
    expect(hanging.size).toBe(1);
    // The terminated thread's port closes: its streams, futures and polls go, and its request is aborted.
    await vi.waitFor(async () => expect(await sandbox.ioService.resourceCounts()).toMatchObject(idleCounts), { timeout: 10_000 });
    await vi.waitFor(() => expect([...hanging].every((res) => res.destroyed)).toBe(true), { timeout: 10_000 });
    const next = await run('main', `${base}/after-timeout`);
    expect(next.result).toEqual({ ok: true, status: 200, body: 'served /after-timeout' });
  });

  it('fails the runs waiting on a service that stops, clearly, and starts a new one for the next', async () => {
    gather = 2;
    const waiting = run('main', `${base}/gather`);
    await vi.waitFor(() => expect(gathered.length).toBe(1), { timeout: 10_000 });
    await sandbox.ioService.terminate();
    const envelope = await waiting;
    expect(envelope.success).toBe(false);
    expect(envelope.error?.message).toContain("the sandbox's I/O service stopped");
    gathered.splice(0).forEach((res) => res.destroy());
    const next = await run('main', `${base}/after-stop`);
    expect(next.result).toEqual({ ok: true, status: 200, body: 'served /after-stop' });
    await vi.waitFor(async () => expect(await sandbox.ioService.resourceCounts()).toEqual({ clients: 1, ...idleCounts }), { timeout: 10_000 });
  });

  it('replaces the idle clients of a service that stopped between runs: the next request starts a new one', async () => {
    await sandbox.ioService.terminate();
    expect(sandbox.ioService.running).toBe(false);
    // Answered only once all of them wait: every thread of the pool is a client of the new service.
    gather = POOL;
    const envelopes = await Promise.all(Array.from({ length: POOL }, () => run('main', `${base}/gather`)));
    for (const envelope of envelopes) expect(envelope.result).toEqual({ ok: true, status: 200, body: 'together' });
    await vi.waitFor(async () => expect(await sandbox.ioService.resourceCounts()).toEqual({ clients: POOL, ...idleCounts }), { timeout: 10_000 });
  });

  it('ends with its pool', async () => {
    const own = await Sandbox.create({ poolSize: 1 });
    const envelope = await own.run({ bundle: await fixtureBundle('network.ts'), task: 'main', args: [`${base}/own`], baseDir: repoRoot, defaults: { allowedHosts: [new URL(base).host] } });
    expect(envelope.result).toEqual({ ok: true, status: 200, body: 'served /own' });
    expect(own.ioService.running).toBe(true);
    await own.close();
    expect(own.ioService.running).toBe(false);
  });
});
