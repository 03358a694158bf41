import http from 'node:http';
import { closeLoopback, listenOnLoopback } from '../support/loopback-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/sandbox/index.js';
import { fixtureBundle, repoRoot } from '../helpers.js';

let sandbox: Sandbox;
let server: http.Server;
let base: string;
const received: { method: string; url: string; body: string }[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.create();
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (req.url === '/hang') return; // never answers
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
      res.end(`served ${req.method} ${req.url}`);
    });
  });
  base = await listenOnLoopback(server);
});
afterAll(async () => {
  await sandbox.close();
  await closeLoopback(server);
});

const run = async (task: string, args: unknown[]) =>
  sandbox.run({ bundle: await fixtureBundle('network.ts'), task, args, baseDir: repoRoot, defaults: { allowedHosts: [new URL(base).host, 'localhost:1'] } });

describe('network', () => {
  it('fetches from an allowed host and records the request', async () => {
    const envelope = await run('main', [`${base}/hello?x=1`]);
    expect(envelope.result).toEqual({ ok: true, status: 200, body: 'served GET /hello?x=1' });
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/hello?x=1`, status: 200, allowed: true }]);
    expect(envelope.execution.denials).toEqual([]);
  });

  it('sends a request body and records non-2xx statuses', async () => {
    const posted = await run('main', [`${base}/echo`, 'POST']);
    expect(posted.result).toMatchObject({ ok: true, status: 200 });
    expect(received.at(-1)).toEqual({ method: 'POST', url: '/echo', body: '{"hello":"host"}' });
    const missing = await run('main', [`${base}/missing`]);
    expect(missing.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/missing`, status: 404, allowed: true }]);
  });

  it('refuses a host that is not allowed, as a catchable error, and records it', async () => {
    const before = received.length;
    const envelope = await run('main', [`http://localhost:${new URL(base).port}/secret`]);
    expect(envelope.success).toBe(true);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(received.length).toBe(before);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `http://localhost:${new URL(base).port}/secret`, status: null, allowed: false }]);
    expect(envelope.execution.denials).toEqual([
      { capability: 'network', target: `http://localhost:${new URL(base).port}/secret`, reason: expect.stringContaining('not in allowedHosts') },
    ]);
  });

  it('blocks everything when allowedHosts is empty', async () => {
    const before = received.length;
    const envelope = await run('closed', [`${base}/anything`]);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(received.length).toBe(before);
    expect(envelope.execution.denials[0]?.reason).toContain('network access is off');
  });

  it('makes an uncaught denied fetch the run\'s permission_denied error', async () => {
    const envelope = await run('uncaught', [`http://localhost:${new URL(base).port}/`]);
    expect(envelope.error?.error_type).toBe('permission_denied');
  });

  it('stops a guest blocked on a request that never answers', async () => {
    const envelope = await run('hang', [`${base}/hang`]);
    expect(envelope.error?.error_type).toBe('timeout');
  });
});
