import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePythonSandbox } from './python.js';

const py = usePythonSandbox();
let server: http.Server;
let base: string;
let port: number;
let connections = 0;
const received: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ answer: 42, items: ['a', 'b'] }));
        return;
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
      res.end(`served ${req.method} ${req.url}`);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const run = (task: string, args: unknown[]) => py.run('network.py', task, args, { defaults: { allowedHosts: [`127.0.0.1:${port}`, 'localhost:1'] } });
const deniedUrl = (p: string) => `http://localhost:${port}${p}`;

describe('capsule.http', () => {
  it('GETs from an allowed host and records the request', async () => {
    const envelope = await run('main', [`${base}/hello?x=1`]);
    expect(envelope.result).toEqual({ ok: true, status: 200, is_ok: true, body: 'served GET /hello?x=1' });
    expect(received.at(-1)).toMatchObject({ method: 'GET', url: '/hello?x=1', headers: expect.objectContaining({ 'x-capsule-test': 'from the guest' }) });
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/hello?x=1`, status: 200, allowed: true }]);
    expect(envelope.execution.denials).toEqual([]);
  });

  it('POSTs a JSON body', async () => {
    const envelope = await run('main', [`${base}/echo`, 'post']);
    expect(envelope.result).toEqual({ ok: true, status: 200, is_ok: true, body: 'served POST /echo' });
    const last = received.at(-1)!;
    expect(last.method).toBe('POST');
    expect(last.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(last.body)).toEqual({ hello: 'host', n: 1 });
    expect(envelope.execution.host_requests).toEqual([{ method: 'POST', url: `${base}/echo`, status: 200, allowed: true }]);
  });

  it('PUTs a raw body and sends query parameters', async () => {
    const put = await run('main', [`${base}/raw`, 'put']);
    expect(put.result).toMatchObject({ ok: true, status: 200 });
    expect(received.at(-1)).toMatchObject({ method: 'PUT', url: '/raw', body: 'raw body' });
    const withParams = await run('main', [`${base}/search`, 'params']);
    expect(withParams.result).toMatchObject({ ok: true, status: 200 });
    const url = new URL(received.at(-1)!.url, base);
    expect(url.pathname).toBe('/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'capsule', page: '2' });
  });

  it('decodes a JSON response', async () => {
    const envelope = await run('main', [`${base}/json`, 'json']);
    expect(envelope.result).toEqual({ ok: true, status: 200, json: { answer: 42, items: ['a', 'b'] } });
  });

  it('returns non-2xx statuses as responses, and records them', async () => {
    const envelope = await run('main', [`${base}/missing`]);
    expect(envelope.result).toEqual({ ok: true, status: 404, is_ok: false, body: 'served GET /missing' });
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/missing`, status: 404, allowed: true }]);
  });

  it('refuses a host that is not allowed with a catchable PermissionError, and records it', async () => {
    const before = received.length;
    const envelope = await run('main', [deniedUrl('/secret')]);
    expect(envelope.success).toBe(true);
    expect(envelope.result).toMatchObject({ ok: false, permission: true });
    expect(received.length).toBe(before);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: deniedUrl('/secret'), status: null, allowed: false }]);
    expect(envelope.execution.denials).toEqual([
      { capability: 'network', target: deniedUrl('/secret'), reason: expect.stringMatching(/not in allowed_?hosts/i) },
    ]);
  });

  it('blocks everything when allowed_hosts is empty', async () => {
    const before = received.length;
    const envelope = await run('closed', [`${base}/anything`]);
    expect(envelope.result).toMatchObject({ ok: false, permission: true });
    expect(received.length).toBe(before);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/anything`, status: null, allowed: false }]);
    expect(envelope.execution.denials).toEqual([{ capability: 'network', target: `${base}/anything`, reason: expect.stringContaining('network access is off') }]);
  });

  it('makes an uncaught denied request the run\'s permission_denied error', async () => {
    const envelope = await run('uncaught', [deniedUrl('/')]);
    expect(envelope.success).toBe(false);
    expect(envelope.error?.error_type).toBe('permission_denied');
    expect(envelope.execution.denials).toEqual([{ capability: 'network', target: deniedUrl('/'), reason: expect.any(String) }]);
  });

  it('stops a guest blocked on a request that never answers', async () => {
    const envelope = await run('hang', [`${base}/hang`]);
    expect(envelope.error?.error_type).toBe('timeout');
    expect(received.at(-1)?.url).toBe('/hang');
  });
});

describe('urllib.request', () => {
  it('goes through the same allowlist: allowed requests succeed and are recorded', async () => {
    const got = await run('urllib', [`${base}/via-urllib`]);
    expect(got.result).toEqual({ ok: true, status: 200, body: 'served GET /via-urllib' });
    expect(got.execution.host_requests).toEqual([{ method: 'GET', url: `${base}/via-urllib`, status: 200, allowed: true }]);
    const posted = await run('urllib', [`${base}/post-urllib`, 'POST']);
    expect(posted.result).toEqual({ ok: true, status: 200, body: 'served POST /post-urllib' });
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/post-urllib', body: '{"from": "urllib"}' });
    expect(posted.execution.host_requests).toEqual([{ method: 'POST', url: `${base}/post-urllib`, status: 200, allowed: true }]);
  });

  it('refuses a host that is not allowed, as a catchable URLError that is also a PermissionError', async () => {
    const before = received.length;
    const envelope = await run('urllib', [deniedUrl('/by-urllib')]);
    expect(envelope.result).toMatchObject({ ok: false, permission: true });
    expect(received.length).toBe(before);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: deniedUrl('/by-urllib'), status: null, allowed: false }]);
    expect(envelope.execution.denials).toEqual([
      { capability: 'network', target: deniedUrl('/by-urllib'), reason: expect.stringMatching(/not in allowed_?hosts/i) },
    ]);
  });
});

describe('raw sockets', () => {
  const SOCKETS_REFUSED = 'raw sockets are not available in the sandbox (use HTTP to an allowed host)';

  it('refuses socket.create_connection even to an allowed host, as a catchable OSError, and records a network denial', async () => {
    const before = connections;
    const envelope = await run('raw-socket', [port]);
    expect(envelope.success).toBe(true);
    // The address lookup is the first thing refused: getaddrinfo raises socket.gaierror.
    expect(envelope.result).toMatchObject({ ok: false, type: 'gaierror', os_error: true });
    expect(connections).toBe(before);
    expect(envelope.execution.host_requests).toEqual([]);
    expect(envelope.execution.denials).toEqual([{ capability: 'network', target: 'dns lookup', reason: SOCKETS_REFUSED }]);
  });

  it('refuses creating a TCP socket directly, and records a network denial', async () => {
    const before = connections;
    const envelope = await run('raw-socket', [port, 'socket']);
    expect(envelope.success).toBe(true);
    expect(envelope.result).toMatchObject({ ok: false, os_error: true });
    expect(connections).toBe(before);
    expect(envelope.execution.denials).toEqual([{ capability: 'network', target: 'tcp socket', reason: SOCKETS_REFUSED }]);
  });
});
