/**
 * The network edge, attacked from a JavaScript guest: names that resolve inside the network, addresses in every
 * spelling, redirects, TLS, caps, Capsule's own endpoints. The resolver is injected (name -> address), so "a public
 * name that resolves to a private address" is tested on 127.0.0.1 alone; refused addresses are never connected to.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, type Envelope } from '../../src/sandbox/index.js';
import { fixture, fixtureBundle, repoRoot } from '../helpers.js';

const RESOLVES: Record<string, string[]> = {
  'public.test': ['127.0.0.1'],
  'api.test': ['127.0.0.1'],
  'secure.test': ['127.0.0.1'],
  'wrong.test': ['127.0.0.1'],
  'xn--bcher-kva.test': ['127.0.0.1'],
  'meta.test': ['169.254.169.254'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['10.1.2.3', '127.0.0.1'],
};
const resolved: string[] = [];

let sandbox: Sandbox;
let server: http.Server;
let tls: https.Server;
let port: number;
let tlsPort: number;
const seen: { url: string; host: string | undefined; authorization: string | undefined }[] = [];
const tlsSeen: { servername: string | false | null; host: string | undefined }[] = [];
let closedEarly = 0;
const envelopes: Envelope[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.create({
    poolSize: 1,
    network: {
      resolver: async (name) => {
        resolved.push(name);
        const addresses = RESOLVES[name];
        if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
        return addresses;
      },
      trustedCertificates: [readFileSync(fixture('../tls/cert.pem'), 'utf8')],
    },
  });
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host, authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/hang') return void req.on('close', () => closedEarly++);
    if (url.pathname === '/redirect') {
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! });
      return void res.end();
    }
    const loop = /^\/loop\/(\d+)$/.exec(url.pathname);
    if (loop) {
      res.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` });
      return void res.end();
    }
    if (url.pathname === '/big') return void res.end('x'.repeat(2048));
    if (url.pathname === '/big-chunked') {
      res.write('x'.repeat(1000));
      setTimeout(() => res.end('y'.repeat(1048)), 20);
      return;
    }
    res.end(JSON.stringify({ url: req.url, host: req.headers.host, authorization: req.headers.authorization ?? null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const pem = (name: string) => readFileSync(fixture(`../tls/${name}`), 'utf8');
  tls = https.createServer({ key: pem('key.pem'), cert: pem('cert.pem') }, (req, res) => {
    tlsSeen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host });
    res.end('over tls');
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  tlsPort = (tls.address() as AddressInfo).port;
});
afterAll(async () => {
  await sandbox.close();
  for (const s of [server, tls]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function run(task: string, args: unknown[], allowedHosts: string[]): Promise<Envelope> {
  const envelope = await sandbox.run({ bundle: await fixtureBundle('network.ts'), task, args, baseDir: repoRoot, defaults: { allowedHosts } });
  envelopes.push(envelope);
  return envelope;
}
type Attempt = { ok: boolean; status?: number; body?: string; error?: string };
const results = (envelope: Envelope) => envelope.result as Attempt[];
const loopback = () => `127.0.0.1:${port}`;

describe('addresses: a name is never enough to reach the inside of the network', () => {
  it('refuses loopback by IP unless allowedHosts names it with its port', async () => {
    const before = seen.length;
    const envelope = await run('request', [`http://127.0.0.1:${port}/echo`], ['127.0.0.1']);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(seen.length).toBe(before);
    expect(envelope.execution.denials).toEqual([
      { capability: 'network', target: `http://127.0.0.1:${port}/echo`, reason: `127.0.0.1 is a loopback address: only an allowedHosts entry naming "127.0.0.1:${port}" literally allows it` },
    ]);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `http://127.0.0.1:${port}/echo`, status: null, allowed: false }]);
  });

  it('refuses a listed public name that resolves to a private address (the resolver is the egress\'s own)', async () => {
    const before = seen.length;
    const envelope = await run('many', [[`http://public.test:${port}/echo`, 'http://meta.test/latest/meta-data', `http://mapped.test:${port}/`]], ['public.test', 'meta.test', 'mapped.test']);
    expect(results(envelope).map((r) => r.ok)).toEqual([false, false, false]);
    expect(seen.length).toBe(before);
    expect(envelope.execution.denials.map((d) => d.reason)).toEqual([
      `"public.test" resolves to 127.0.0.1, a loopback address: only an allowedHosts entry naming "127.0.0.1:${port}" literally allows it`,
      '"meta.test" resolves to 169.254.169.254, a link-local address: only an allowedHosts entry naming "169.254.169.254:80" literally allows it',
      `"mapped.test" resolves to ::ffff:127.0.0.1, an IPv4-mapped IPv6 address: only an allowedHosts entry naming "[::ffff:7f00:1]:${port}" literally allows it`,
    ]);
  });

  it('refuses every non-public range given as a literal, and never connects to it', async () => {
    const targets = ['10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '169.254.169.254', '224.0.0.1', '[fd00::1]', '[fe80::1]', '[ff02::1]', '[::1]', '[::ffff:10.0.0.1]', '[64:ff9b::a00:1]', '0.0.0.0'];
    const envelope = await run('many', [targets.map((t) => `http://${t}/`)], targets);
    expect(results(envelope).every((r) => !r.ok)).toBe(true);
    expect(envelope.execution.host_requests.every((r) => !r.allowed)).toBe(true);
    expect(envelope.execution.denials.map((d) => /an? ([\w() -]+?) address/.exec(d.reason)?.[1])).toEqual([
      'private', 'private', 'private', 'shared (CGNAT)', 'link-local', 'multicast', 'unique-local', 'link-local', 'multicast', 'loopback', 'IPv4-mapped IPv6', 'private', 'unspecified',
    ]);
    expect(envelope.execution.denials.at(-1)!.reason).toContain('never reachable');
  });

  it('allows a name whose address is granted literally, and connects to the checked address with the name as Host', async () => {
    const envelope = await run('request', [`http://api.test:${port}/echo`], ['api.test', loopback()]);
    expect(envelope.result).toMatchObject({ ok: true, status: 200 });
    expect(JSON.parse((envelope.result as Attempt).body!)).toMatchObject({ host: `api.test:${port}` });
  });

  it('uses the first permitted address of a name that resolves to several', async () => {
    const envelope = await run('request', [`http://mixed.test:${port}/echo`], ['mixed.test', loopback()]);
    expect(envelope.result).toMatchObject({ ok: true, status: 200 });
  });

  it('reports a name that does not resolve as a failed request, not a denial', async () => {
    const envelope = await run('request', ['http://nowhere.test/'], ['nowhere.test']);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: 'http://nowhere.test/', status: null, allowed: true }]);
    expect(envelope.execution.denials).toEqual([]);
  });
});

describe('hosts are normalised as the URL standard does, on both sides', () => {
  it('reads IPv4 in decimal, octal and hex as the dotted address it is', async () => {
    const spellings = [`http://2130706433:${port}/echo`, `http://0x7f.0.0.1:${port}/echo`, `http://0177.0.0.1:${port}/echo`, `http://127.1:${port}/echo`];
    const granted = await run('many', [spellings], [loopback()]);
    expect(results(granted).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(granted.execution.host_requests.map((r) => r.url))).toEqual(new Set([`http://127.0.0.1:${port}/echo`]));
    const named = await run('many', [spellings], ['api.test', 'localhost:1']);
    expect(named.execution.denials.map((d) => d.reason)).toEqual(spellings.map(() => `host "127.0.0.1:${port}" is not in allowedHosts (api.test, localhost:1)`));
  });

  it('ignores a trailing dot and case, and matches IDNA names in either spelling', async () => {
    const envelope = await run('many', [[`http://API.test.:${port}/echo`, `http://bücher.test:${port}/echo`]], ['api.test', 'BÜCHER.test', loopback()]);
    expect(results(envelope).map((r) => r.status)).toEqual([200, 200]);
    expect(JSON.parse(results(envelope)[1]!.body!)).toMatchObject({ host: `xn--bcher-kva.test:${port}` });
  });

  it('takes IPv6 literals: matched in brackets, refused or allowed as any address', async () => {
    const refused = await run('request', [`http://[::1]:${port}/`], ['localhost:1']);
    expect(refused.execution.denials[0]?.reason).toBe(`host "[::1]:${port}" is not in allowedHosts (localhost:1)`);
    // Granted literally: the egress connects to ::1 (nothing listens there: the test servers are on 127.0.0.1 only).
    const granted = await run('request', [`http://[::1]:${port}/`], [`[::1]:${port}`]);
    expect(granted.execution.denials).toEqual([]);
    expect(granted.execution.host_requests).toEqual([{ method: 'GET', url: `http://[::1]:${port}/`, status: null, allowed: true }]);
  });
});

describe('https', () => {
  it('connects to the checked address with the name for SNI, Host and the certificate check', async () => {
    const envelope = await run('request', [`https://secure.test:${tlsPort}/`], ['secure.test', `127.0.0.1:${tlsPort}`]);
    expect(envelope.result).toMatchObject({ ok: true, status: 200, body: 'over tls' });
    expect(tlsSeen.at(-1)).toEqual({ servername: 'secure.test', host: `secure.test:${tlsPort}` });
  });

  it('refuses a certificate that does not name the host', async () => {
    const before = tlsSeen.length;
    const envelope = await run('request', [`https://wrong.test:${tlsPort}/`], ['wrong.test', `127.0.0.1:${tlsPort}`]);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(tlsSeen.length).toBe(before);
    expect(envelope.execution.host_requests).toEqual([{ method: 'GET', url: `https://wrong.test:${tlsPort}/`, status: null, allowed: true }]);
  });
});

describe('redirects are followed by the egress, every hop checked', () => {
  it('follows a redirect and records each hop', async () => {
    const to = encodeURIComponent(`http://api.test:${port}/echo`);
    const envelope = await run('request', [`http://127.0.0.1:${port}/redirect?to=${to}`], ['api.test', loopback()]);
    expect(envelope.result).toMatchObject({ ok: true, status: 200 });
    expect(envelope.execution.host_requests.map((r) => [r.url, r.status])).toEqual([
      [`http://127.0.0.1:${port}/redirect?to=${to}`, 302],
      [`http://api.test:${port}/echo`, 200],
    ]);
  });

  it('refuses a hop to an address the task may not reach', async () => {
    const before = seen.length;
    const to = encodeURIComponent('http://169.254.169.254/latest/meta-data/');
    const envelope = await run('request', [`http://127.0.0.1:${port}/redirect?to=${to}`], ['169.254.169.254', loopback()]);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(seen.length).toBe(before + 1);
    expect(envelope.execution.denials).toEqual([
      { capability: 'network', target: 'http://169.254.169.254/latest/meta-data/', reason: expect.stringContaining('link-local') },
    ]);
  });

  it('stops after 10 redirects', async () => {
    const envelope = await run('request', [`http://127.0.0.1:${port}/loop/0`], [loopback()]);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(envelope.execution.host_requests).toHaveLength(11);
  });

  it('drops credentials on a redirect to another origin', async () => {
    const to = encodeURIComponent(`http://api.test:${port}/echo`);
    const envelope = await run('request', [`http://127.0.0.1:${port}/redirect?to=${to}&status=307`, { headers: { authorization: 'Bearer guest-token' } }], ['api.test', loopback()]);
    expect(seen.at(-2)?.authorization).toBe('Bearer guest-token');
    expect(JSON.parse((envelope.result as Attempt).body!)).toMatchObject({ authorization: null });
  });
});

describe('limits', () => {
  it('refuses a response larger than maxResponseSize, announced or streamed', async () => {
    // The task's maxResponseSize is 1KB; both bodies are 2 KiB, one with a Content-Length, one chunked.
    const announced = await run('capped', [`http://127.0.0.1:${port}/big`], [loopback()]);
    expect(announced.result).toMatchObject({ ok: false });
    const streamed = await run('capped', [`http://127.0.0.1:${port}/big-chunked`], [loopback()]);
    expect(streamed.result).toMatchObject({ ok: false });
    const small = await run('capped', [`http://127.0.0.1:${port}/echo`], [loopback()]);
    expect(small.result).toMatchObject({ ok: true, status: 200 });
    // The default (10 MB) lets the same bodies through.
    const uncapped = await run('many', [[`http://127.0.0.1:${port}/big`, `http://127.0.0.1:${port}/big-chunked`]], [loopback()]);
    expect(results(uncapped).map((r) => r.body?.length)).toEqual([2048, 2048]);
  });

  it('aborts a request still in flight when its run ends', async () => {
    const before = closedEarly;
    const envelope = await run('hang', [`http://127.0.0.1:${port}/hang`], [loopback()]);
    expect(envelope.error?.error_type).toBe('timeout');
    await expect.poll(() => closedEarly, { timeout: 10_000 }).toBe(before + 1);
  });
});

describe('timers and requests waited on together (host/timers.ts)', () => {
  it('wakes the guest for a timer while a request is still in flight', async () => {
    const before = closedEarly;
    const envelope = await run('race', [`http://127.0.0.1:${port}/hang`, 100], [loopback()]);
    expect(envelope.result).toBe('timer');
    // The request the guest stopped waiting for is aborted when its run ends.
    await expect.poll(() => closedEarly, { timeout: 10_000 }).toBe(before + 1);
  });

  it('wakes the guest for a response while a long timer is pending', async () => {
    const envelope = await run('race', [`http://127.0.0.1:${port}/echo`, 15_000], [loopback()]);
    expect(envelope.result).toBe('response 200 true');
    expect(envelope.execution.duration_ms).toBeLessThan(15_000);
  });
});

describe('Capsule\'s own endpoints', () => {
  it('are never reachable from a guest, even with loopback granted literally', async () => {
    const internals = sandbox as unknown as { edge: { egress: { authority: string } }; subtasks: { authority: string } };
    const endpoints = [internals.edge.egress.authority, internals.subtasks.authority];
    const envelope = await run('many', [endpoints.map((a) => `http://${a}/`)], endpoints);
    expect(results(envelope).every((r) => !r.ok)).toBe(true);
    expect(envelope.execution.denials.map((d) => d.reason)).toEqual(endpoints.map((a) => `${a} is one of Capsule's own endpoints`));
  });

  it('never shows the run\'s egress token or route in an envelope', () => {
    expect(envelopes.length).toBeGreaterThan(10);
    for (const envelope of envelopes) {
      const text = JSON.stringify(envelope);
      expect(text).not.toMatch(/[0-9a-f]{48}/);
      expect(text).not.toContain('/egress/');
    }
  });
});
