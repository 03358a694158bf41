/**
 * Secrets at the edge, from both languages: the guest holds a placeholder, the egress puts the value in request
 * headers to the secret's hosts only, refuses it anywhere else (naming the secret), and redacts it from responses;
 * the value appears in no envelope. Values come from the sandbox's secret source (environment, then .env.local,
 * then .env), never from the run request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleTaskFile, Sandbox, type Envelope } from '../../src/sandbox/index.js';
import { fixture } from '../helpers.js';

const API_KEY = 'sk-test-4f9a1c2e8b7d6a5f3e2d1c0b';
const FILE_KEY = 'file-key-from-dotenv-local-77aa';
const PLACEHOLDER = /^capsule-secret-API_KEY-[0-9a-f]{32}$/;

interface Received { port: number; url: string; headers: http.IncomingHttpHeaders; body: string }
const received: Received[] = [];
const envelopes: Envelope[] = [];
let echo: http.Server;
let other: http.Server;
let echoPort: number;
let otherPort: number;
let sandbox: Sandbox;
let dir: string;

function listen(handler: http.RequestListener): Promise<[http.Server, number]> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve([server, (server.address() as AddressInfo).port])));
}

/** Echoes what it got (headers and body) back, so a response that carries the secret can be checked for redaction. */
function echoing(req: http.IncomingMessage, res: http.ServerResponse) {
  let body = '';
  req.on('data', (chunk) => (body += String(chunk)));
  req.on('end', () => {
    const port = (req.socket.address() as AddressInfo).port;
    received.push({ port, url: req.url ?? '', headers: req.headers, body });
    const url = new URL(req.url ?? '/', 'http://x');
    const key = String(req.headers['x-api-key'] ?? '');
    if (url.pathname === '/redirect') return void res.writeHead(302, { location: url.searchParams.get('to')! }).end();
    if (url.pathname === '/split') {
      // The value split across two chunks: the redaction must still find it.
      res.writeHead(200, { 'x-echo': key });
      res.write(`before ${key.slice(0, 9)}`);
      return void setTimeout(() => res.end(`${key.slice(9)} after`), 20);
    }
    if (url.pathname === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(`compressed ${key}`));
    res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null, key: key || null, body }));
  });
}

async function taskFile(name: string): Promise<string> {
  const source = readFileSync(fixture(`secrets/${name}`), 'utf8').replaceAll('ECHO_PORT', String(echoPort)).replaceAll('OTHER_PORT', String(otherPort));
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

beforeAll(async () => {
  [echo, echoPort] = await listen(echoing);
  [other, otherPort] = await listen(echoing);
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-secrets-'));
  writeFileSync(path.join(dir, '.env'), `FILE_KEY=overridden-by-local\nAPI_KEY=loses-to-the-environment\n`);
  writeFileSync(path.join(dir, '.env.local'), `# local\nexport FILE_KEY="${FILE_KEY}"\n`);
  sandbox = await Sandbox.create({ poolSize: 2, languages: ['js', 'python'], secrets: { env: { API_KEY }, dir } });
});
afterAll(async () => {
  await sandbox.close();
  for (const server of [echo, other]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

async function run(file: string, task: string, args: unknown[] = [], env: Record<string, string> = {}): Promise<Envelope> {
  const envelope = await sandbox.run({ bundle: await bundleTaskFile(await taskFile(file)), task, args, baseDir: dir, env });
  envelopes.push(envelope);
  return envelope;
}
const toPort = (port: number) => received.filter((r) => r.port === port);

describe('JavaScript', () => {
  it('gives the guest placeholders, not values; values come from the environment, then .env.local, then .env', async () => {
    const envelope = await run('secrets.ts', 'main', ['env']);
    const result = envelope.result as Record<string, string | null>;
    expect(result.API_KEY).toMatch(PLACEHOLDER);
    expect(result.FILE_KEY).toMatch(/^capsule-secret-FILE_KEY-[0-9a-f]{32}$/);
    // Declared but set nowhere: absent, as an unset listed variable is, and reading it is no denial.
    expect(result.UNSET_KEY).toBeNull();
    expect(envelope.execution.denials).toEqual([]);
    expect(envelope.execution.stdout).toBe(`the task sees API_KEY=${result.API_KEY}\n`);
  });

  it('puts the value in a header to the secret\'s host, and redacts it from the echo', async () => {
    const envelope = await run('secrets.ts', 'main', ['header']);
    expect(toPort(echoPort).at(-1)?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const echoed = JSON.parse((envelope.result as { body: string }).body) as { authorization: string };
    expect(echoed.authorization).toMatch(/^Bearer capsule-secret-API_KEY-[0-9a-f]{32}$/);
  });

  it('substitutes inside Basic credentials', async () => {
    await run('secrets.ts', 'main', ['basic']);
    expect(toPort(echoPort).at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}`);
  });

  it('redacts a value split across chunks, in headers, and inside a compressed body', async () => {
    const split = await run('secrets.ts', 'main', ['split']);
    expect((split.result as { body: string }).body).toMatch(/^before capsule-secret-API_KEY-[0-9a-f]{32} after$/);
    const gzip = await run('secrets.ts', 'main', ['gzip']);
    expect((gzip.result as { body: string }).body).toMatch(/^compressed capsule-secret-API_KEY-[0-9a-f]{32}$/);
  });

  it.each([
    ['url', 'may not be sent in a URL'],
    ['body', 'may not be sent in a request body'],
    ['other-host', `may only be sent to 127.0.0.1:ECHO, not to 127.0.0.1:OTHER`],
  ])('refuses the placeholder in a %s, naming the secret', async (how, why) => {
    const before = received.length;
    const envelope = await run('secrets.ts', 'main', [how]);
    expect(envelope.result).toMatchObject({ ok: false });
    expect(received.length).toBe(before);
    expect(envelope.execution.denials).toHaveLength(1);
    expect(envelope.execution.denials[0]!.reason).toContain('secret "API_KEY"');
    expect(envelope.execution.denials[0]!.reason).toContain(why.replace('ECHO', String(echoPort)).replace('OTHER', String(otherPort)));
  });

  it('makes an uncaught refusal the run\'s permission_denied', async () => {
    const envelope = await run('secrets.ts', 'main', ['uncaught']);
    expect(envelope.error?.error_type).toBe('permission_denied');
    expect(toPort(otherPort)).toEqual([]);
  });

  it('drops the secret\'s header on a redirect to another host', async () => {
    const envelope = await run('secrets.ts', 'main', ['redirect']);
    expect(envelope.result).toMatchObject({ ok: true, status: 200 });
    expect(toPort(echoPort).at(-1)?.headers['x-api-key']).toBe(API_KEY);
    expect(toPort(otherPort).at(-1)?.headers['x-api-key']).toBeUndefined();
  });

  it('gives a sub-task at most its caller\'s secrets, and records what was cut', async () => {
    const envelope = await run('secrets.ts', 'parent');
    const child = envelope.result as Envelope;
    const result = child.result as { FILE_KEY: string | null; toEcho: { ok: boolean }; toOther: { ok: boolean } };
    expect(result.FILE_KEY).toBeNull();
    expect(result.toEcho).toMatchObject({ ok: true });
    expect(result.toOther).toMatchObject({ ok: false });
    // The cuts are the child's record of what it declared and what it got; the request to the other host is then
    // refused as any request to a host it does not have.
    expect(child.execution.narrowed).toEqual([
      { option: 'allowedHosts', declared: [`127.0.0.1:${echoPort}`, `127.0.0.1:${otherPort}`], granted: [`127.0.0.1:${echoPort}`] },
      { option: 'secrets', declared: { API_KEY: [`127.0.0.1:${echoPort}`, `127.0.0.1:${otherPort}`], FILE_KEY: [`127.0.0.1:${echoPort}`] }, granted: { API_KEY: [`127.0.0.1:${echoPort}`] } },
    ]);
    expect(child.execution.denials).toEqual([
      { capability: 'network', target: `http://127.0.0.1:${otherPort}/echo`, reason: `host "127.0.0.1:${otherPort}" is not in allowedHosts (127.0.0.1:${echoPort})` },
    ]);
  });

  it('refuses a listed variable that holds a secret\'s value', async () => {
    const envelope = await run('secrets.ts', 'leaky', [], { COPY_OF_KEY: API_KEY });
    expect(envelope.error?.error_type).toBe('invalid_task');
    expect(envelope.error?.message).toContain('envVariables "COPY_OF_KEY" holds the value of secret "API_KEY"');
  });
});

describe('Python', () => {
  it('gives os.environ the placeholder', async () => {
    const envelope = await run('secrets.py', 'main', ['env']);
    expect(envelope.result).toMatchObject({ API_KEY: expect.stringMatching(PLACEHOLDER), FILE_KEY: null });
  });

  it.each(['header', 'urllib-header'])('sends the value in a header through %s, and redacts the echo', async (how) => {
    const envelope = await run('secrets.py', 'main', [how]);
    const last = toPort(echoPort).at(-1)!;
    expect(last.headers.authorization === `Bearer ${API_KEY}` || last.headers['x-api-key'] === API_KEY).toBe(true);
    expect((envelope.result as { body: string }).body).toMatch(/capsule-secret-API_KEY-[0-9a-f]{32}/);
  });

  it('refuses the placeholder in a urllib URL as a PermissionError', async () => {
    const envelope = await run('secrets.py', 'main', ['urllib-url']);
    expect(envelope.result).toMatchObject({ denied: true });
    expect(envelope.execution.denials[0]?.reason).toContain('secret "API_KEY" may not be sent in a URL');
  });

  it('makes a refusal to another host permission_denied', async () => {
    const envelope = await run('secrets.py', 'main', ['other-host']);
    expect(envelope.error?.error_type).toBe('permission_denied');
    expect(envelope.execution.denials[0]?.reason).toContain('secret "API_KEY" may only be sent to');
  });
});

describe('the value', () => {
  it('appears in no envelope: result, error, stdout, stderr, requests or denials', () => {
    expect(envelopes.length).toBeGreaterThan(15);
    for (const envelope of envelopes) {
      const text = JSON.stringify(envelope);
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(FILE_KEY);
      expect(text).not.toContain(Buffer.from(`user:${API_KEY}`).toString('base64'));
    }
  });
});
