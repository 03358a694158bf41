/**
 * Everything the egress does for one run's requests: check the name, check the secrets, resolve the name itself,
 * check every address, connect to the checked one, follow redirects itself (each hop checked again, at most 10),
 * cap and redact the response, and report each request and denial into the run's record.
 */
import type http from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { parseRequestTarget, resolveLocation, type RequestTarget } from '../../config/host-pattern.js';
import type { GuestEvent } from '../host/protocol.js';
import { classifyAddress, embeddedIpv4 } from '../policy/address-policy.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import { EGRESS_ERROR_HEADER, EGRESS_MESSAGE_HEADER } from './protocol.js';
import type { Needle, RunSecrets } from './run-secrets.js';
import { EgressFailure, toFailure, Upstream, type Resolver } from './upstream.js';

export interface EgressGrant {
  network: NetworkPolicy;
  secrets: RunSecrets;
  maxResponseBytes: number;
  /** Receives `request` and `denial` events, as the sandbox thread's own events. */
  report(event: GuestEvent): void;
}

export interface EgressSettings {
  resolver: Resolver;
  trustedCertificates: readonly string[];
  connectTimeoutMs: number;
  /** Ports of Capsule's own loopback endpoints (egress, sub-tasks): never reachable from a guest. */
  reservedPorts: ReadonlySet<number>;
}

export const MAX_REDIRECTS = 10;
export const MAX_REQUEST_BODY_BYTES = 32 * 1024 * 1024;
/** A guest looping over requests must not grow the host's memory without bound: lists stop here. */
const MAX_LISTED = 1000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Connection-level headers: each hop sets its own. Content-Length is recomputed from the buffered body. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length', 'expect']);
/** Credentials a redirect to another origin must not carry (as the Fetch standard drops Authorization). */
const CROSS_ORIGIN_DROPPED = new Set(['authorization', 'proxy-authorization', 'cookie']);
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

export class EgressRun {
  private readonly upstream: Upstream;
  private readonly lifetime = new AbortController();
  private readonly listed = { request: 0, denial: 0 };

  constructor(private readonly grant: EgressGrant, private readonly settings: EgressSettings) {
    this.upstream = new Upstream(settings.trustedCertificates);
  }

  /** The run ended: in-flight requests are aborted, pooled connections closed, and nothing more is reported. */
  close(): void {
    this.lifetime.abort();
    this.upstream.close();
  }

  async forward(guest: { scheme: string; authority: string; pathWithQuery: string }, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const shownUrl = this.grant.secrets.redact(`${guest.scheme}://${guest.authority}${guest.pathWithQuery}`);
    let method = (req.method ?? 'GET').toUpperCase();
    const parsed = parseRequestTarget(guest.scheme, guest.authority, guest.pathWithQuery);
    if (!parsed.ok) return this.deny(res, method, shownUrl, `the request is not valid: expected ${parsed.expected}`);
    if (method === 'CONNECT') return this.deny(res, method, shownUrl, 'CONNECT (tunnelling) is not allowed');
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      return fail(res, error instanceof EgressFailure ? error : new EgressFailure('failed', 'the request body could not be read'));
    }
    let headers = guestHeaders(req.rawHeaders);
    let target = parsed.value;
    // A request lives no longer than its run: the run's end (its timeout included, enforced by the pool) closes this
    // EgressRun and aborts it. No clock of our own here: one racing the pool's would turn a task's timeout into a
    // failed fetch, and a run still queued for a thread has not started its time yet.
    const signal = this.lifetime.signal;
    for (let hop = 0; ; hop++) {
      const url = hop === 0 ? shownUrl : this.grant.secrets.redact(target.url);
      const checked = this.check(target, headers, body, hop > 0);
      if (!checked.ok) return this.deny(res, method, url, checked.reason);
      let response: http.IncomingMessage;
      try {
        const address = await this.pickAddress(target);
        if (!address.ok) return this.deny(res, method, url, address.reason);
        response = await this.upstream.request({
          target, address: address.value, method, body, signal,
          headers: this.grant.secrets.active ? withAcceptEncoding(checked.headers) : checked.headers,
          connectTimeoutMs: this.settings.connectTimeoutMs,
        });
      } catch (error) {
        this.record({ method, url, status: null, allowed: true });
        return fail(res, toFailure(error, target), this.grant.secrets);
      }
      this.record({ method, url, status: response.statusCode ?? null, allowed: true });
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) return this.respond(response, res, target, checked.echoes);
      response.resume();
      if (hop + 1 > MAX_REDIRECTS) return fail(res, new EgressFailure('too-many-redirects', `more than ${MAX_REDIRECTS} redirects, the last to ${url}`));
      const next = resolveLocation(location, target.url);
      if (!next.ok) return this.deny(res, method, this.grant.secrets.redact(location), `the redirect from ${url} is not followed: expected ${next.expected}`);
      // 303, and 301/302 after a POST, continue as a GET without a body (as browsers and the Fetch standard do).
      if (response.statusCode === 303 ? method !== 'HEAD' : (response.statusCode === 301 || response.statusCode === 302) && method === 'POST') {
        method = 'GET';
        body = Buffer.alloc(0);
        headers = headers.filter(([name]) => !/^content-/i.test(name));
      }
      if (originOf(next.value) !== originOf(target)) headers = headers.filter(([name]) => !CROSS_ORIGIN_DROPPED.has(name.toLowerCase()));
      target = next.value;
    }
  }

  private check(target: RequestTarget, headers: [string, string][], body: Buffer, followingRedirect: boolean) {
    const host = this.grant.network.checkHost(target);
    if (!host.ok) return host;
    return this.grant.secrets.prepare(target, headers, body, followingRedirect);
  }

  /** The first address of the target that may be reached (an IP literal is its own address). */
  private async pickAddress(target: RequestTarget): Promise<{ ok: true; value: string } | { ok: false; reason: string }> {
    let addresses: string[];
    if (target.ipVersion !== 0) addresses = [target.host.replace(/^\[|\]$/g, '')];
    else {
      try {
        addresses = await this.settings.resolver(target.host);
      } catch {
        throw new EgressFailure('dns', `the name ${target.host} does not resolve`);
      }
      if (addresses.length === 0) throw new EgressFailure('dns', `the name ${target.host} has no address`);
    }
    let firstRefusal: string | undefined;
    for (const address of addresses) {
      const decision = this.reachesCapsule(address, target.port)
        ? { ok: false as const, reason: `${address}:${target.port} is one of Capsule's own endpoints` }
        : this.grant.network.checkAddress(target, address);
      if (decision.ok) return { ok: true, value: address };
      firstRefusal ??= decision.reason;
    }
    return { ok: false, reason: firstRefusal! };
  }

  private reachesCapsule(address: string, port: number): boolean {
    if (!this.settings.reservedPorts.has(port)) return false;
    const local = (a: string) => ['loopback', 'unspecified'].includes(classifyAddress(a));
    const inner = embeddedIpv4(address);
    return local(address) || (inner !== undefined && local(inner));
  }

  private async respond(upstream: http.IncomingMessage, res: http.ServerResponse, target: RequestTarget, echoes: readonly Needle[]): Promise<void> {
    const { secrets, maxResponseBytes } = this.grant;
    const length = Number(upstream.headers['content-length']);
    if (Number.isFinite(length) && length > maxResponseBytes) {
      upstream.destroy();
      return fail(res, new EgressFailure('response-too-large', `the response from ${target.host}:${target.port} is ${length} bytes, more than the task's maxResponseSize (${maxResponseBytes} bytes)`));
    }
    const encoding = String(upstream.headers['content-encoding'] ?? 'identity').toLowerCase();
    // Redacting needs the bytes as sent: a compressed body is decoded first (and the cap counts decoded bytes).
    const decode = secrets.active && encoding !== 'identity' ? DECODERS[encoding] : undefined;
    if (secrets.active && encoding !== 'identity' && !decode) {
      upstream.destroy();
      return fail(res, new EgressFailure('failed', `the response from ${target.host}:${target.port} is encoded as "${encoding}", which Capsule cannot check for secrets`));
    }
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < upstream.rawHeaders.length; i += 2) {
      const name = upstream.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || lower === EGRESS_ERROR_HEADER || lower === EGRESS_MESSAGE_HEADER) continue;
      if (secrets.active && lower === 'content-encoding') continue;
      headers.push([name, secrets.redact(upstream.rawHeaders[i + 1]!, echoes)]);
    }
    if (!secrets.active && upstream.headers['content-length'] !== undefined) headers.push(['content-length', upstream.headers['content-length']]);
    res.writeHead(upstream.statusCode ?? 502, headers.flat());
    const stages: NodeJS.ReadWriteStream[] = [];
    if (decode) stages.push(decode());
    stages.push(capStream(maxResponseBytes, target));
    if (secrets.active) stages.push(secrets.redactor(echoes));
    try {
      await pipeline([upstream, ...stages, res] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]);
    } catch {
      // Over the cap, or the upstream or the guest went away: the guest's read of the body fails.
      res.destroy();
    }
  }

  private deny(res: http.ServerResponse, method: string, url: string, reason: string): void {
    const shown = this.grant.secrets.redact(reason);
    this.report({ kind: 'denial', denial: { capability: 'network', target: url, reason: shown } });
    this.record({ method, url, status: null, allowed: false });
    fail(res, new EgressFailure('denied', shown));
  }

  private record(request: { method: string; url: string; status: number | null; allowed: boolean }): void {
    this.report({ kind: 'request', request });
  }

  private report(event: GuestEvent): void {
    if (this.lifetime.signal.aborted) return;
    if (event.kind === 'request' && this.listed.request++ >= MAX_LISTED) return;
    if (event.kind === 'denial' && this.listed.denial++ >= MAX_LISTED) return;
    this.grant.report(event);
  }
}

/** The egress's own answer to the thread: no upstream response, just why (the thread turns it into a wasi:http error). */
export function fail(res: http.ServerResponse, failure: EgressFailure, secrets?: RunSecrets): void {
  if (res.headersSent) return void res.destroy();
  const message = secrets ? secrets.redact(failure.message) : failure.message;
  res.writeHead(502, { [EGRESS_ERROR_HEADER]: failure.kind, [EGRESS_MESSAGE_HEADER]: encodeURIComponent(message), 'content-type': 'text/plain' });
  res.end(message);
}

function guestHeaders(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push([raw[i]!, raw[i + 1]!]);
  }
  return out;
}

function withAcceptEncoding(headers: [string, string][]): [string, string][] {
  return [...headers.filter(([name]) => name.toLowerCase() !== 'accept-encoding'), ['accept-encoding', 'gzip, deflate, br']];
}

function originOf(target: RequestTarget): string {
  return `${target.scheme}://${target.host}:${target.port}`;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY_BYTES) throw new EgressFailure('request-too-large', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function capStream(maxBytes: number, target: RequestTarget): NodeJS.ReadWriteStream {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new EgressFailure('response-too-large', `the response from ${target.host}:${target.port} is larger than the task's maxResponseSize (${maxBytes} bytes)`));
      else done(null, chunk);
    },
  });
}
