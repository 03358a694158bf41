/**
 * Temporal's remote codec protocol over HTTP, so the Web UI (and `temporal --codec-endpoint`) show decoded payloads:
 * POST <any path>/decode and <any path>/encode with `{"payloads":[{"metadata":{k: base64},"data": base64}]}`
 * (the proto3 JSON of Payloads). Decode runs Capsule's codecs backwards (decryption, then decompression);
 * claim-check references pass through as they are — readable JSON naming the blob — so the UI never pulls
 * megabytes into the page (`capsule result` fetches full values).
 *
 * Whoever can reach this server can decrypt: it allows only the listed origins (CORS, checked on the server too),
 * answers only to a loopback Host name when bound to loopback (no DNS rebinding), and caps request bodies.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization, caller-type, client-name, client-version';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface CodecServerOptions {
  /** Codecs in encoding order (PayloadLayer.codecs). */
  codecs: PayloadCodec[];
  host?: string;
  /** 0: any free port. */
  port?: number;
  /** Origins allowed to call it from a browser (the Web UI's, e.g. http://127.0.0.1:8233). */
  origins?: string[];
}

export interface CodecServer {
  /** e.g. http://127.0.0.1:8234 */
  url: string;
  allowOrigin(origin: string): void;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const origins = new Set((options.origins ?? []).map(normaliseOrigin));
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, { error: error instanceof Error ? error.message : String(error) }));
  });
  const loopback = LOOPBACK_HOSTS.has(host) || host === '::1';

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (loopback && !LOOPBACK_HOSTS.has((req.headers.host ?? '').replace(/:\d+$/, ''))) return send(res, 403, { error: 'unexpected Host header' });
    if (origin !== undefined) {
      if (!origins.has(normaliseOrigin(origin))) return send(res, 403, { error: `origin ${origin} is not allowed (capsule codec-server --ui-origin)` });
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
      res.setHeader('access-control-max-age', '600');
      res.writeHead(204).end();
      return;
    }
    const action = (req.url ?? '').split('?')[0]!.replace(/\/+$/, '').split('/').pop();
    if (req.method !== 'POST' || (action !== 'decode' && action !== 'encode')) return send(res, 404, { error: 'POST /encode or /decode' });
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` });
    let payloads: Payload[];
    try {
      payloads = parsePayloads(JSON.parse(body));
    } catch (error) {
      return send(res, 400, { error: `expected {"payloads":[{"metadata":{...},"data":"<base64>"}]}: ${error instanceof Error ? error.message : String(error)}` });
    }
    try {
      const out = action === 'encode' ? await encode(options.codecs, payloads) : await decode(options.codecs, payloads);
      send(res, 200, { payloads: out.map(toJson) });
    } catch (error) {
      send(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    allowOrigin: (origin) => origins.add(normaliseOrigin(origin)),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function encode(codecs: PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  for (const codec of codecs) payloads = await codec.encode(payloads);
  return payloads;
}

async function decode(codecs: PayloadCodec[], payloads: Payload[]): Promise<Payload[]> {
  for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
  return payloads;
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    // Bytes are joined before decoding: a character split across chunks stays whole.
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePayloads(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new Error('no "payloads" array');
  return list.map((item: JsonPayload) => ({
    metadata: Object.fromEntries(Object.entries(item.metadata ?? {}).map(([key, value]) => [key, Buffer.from(String(value), 'base64')])),
    data: Buffer.from(item.data ?? '', 'base64'),
  }));
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function send(res: http.ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function normaliseOrigin(origin: string): string {
  return origin.replace(/\/+$/, '').toLowerCase();
}
