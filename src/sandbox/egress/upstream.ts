/**
 * One HTTP(S) request from the egress to an address it has already checked. The connection goes to that address
 * and nowhere else (a `lookup` that answers with it, so Node never resolves the name again), while the Host header
 * and TLS SNI/certificate check use the name. Connections are pooled per run and per address, never across runs:
 * a socket opened under one run's grants must not serve another's.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { RequestTarget } from '../../config/host-pattern.js';
import type { FailureKind } from './protocol.js';

/** Name -> addresses. The default asks the system resolver; tests inject their own. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export class EgressFailure extends Error {
  override readonly name = 'EgressFailure';
  constructor(readonly kind: FailureKind, message: string) {
    super(message);
  }
}

export interface UpstreamRequest {
  target: RequestTarget;
  /** The checked address to connect to. */
  address: string;
  method: string;
  headers: [string, string][];
  body: Buffer;
  connectTimeoutMs: number;
  signal: AbortSignal;
}

/** Node's agents key pooled sockets by host and port; the pinned address joins the key. */
class PinnedHttpAgent extends http.Agent {
  override getName(options: http.ClientRequestArgs & { pinned?: string }): string {
    return `${super.getName(options)}|${options.pinned ?? ''}`;
  }
}
class PinnedHttpsAgent extends https.Agent {
  override getName(options: https.RequestOptions & { pinned?: string }): string {
    return `${super.getName(options)}|${options.pinned ?? ''}`;
  }
}

export class Upstream {
  private readonly httpAgent = new PinnedHttpAgent({ keepAlive: true });
  private readonly httpsAgent: PinnedHttpsAgent;

  /** `trustedCertificates`: extra CA certificates (PEM) besides the system's; tests use a self-signed one. */
  constructor(trustedCertificates: readonly string[] = []) {
    this.httpsAgent = new PinnedHttpsAgent({ keepAlive: true, ...(trustedCertificates.length > 0 ? { ca: [...rootCertificates, ...trustedCertificates] } : {}) });
  }

  request(req: UpstreamRequest): Promise<http.IncomingMessage> {
    const { target, address } = req;
    const family = isIP(address);
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else callback(null, address, family);
    };
    const bareHost = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const options: https.RequestOptions & { pinned: string } = {
      host: bareHost,
      port: target.port,
      method: req.method,
      path: target.pathWithQuery,
      headers: headerObject(req.headers),
      lookup,
      pinned: address,
      signal: req.signal,
      ...(target.ipVersion === 0 && target.scheme === 'https' ? { servername: bareHost } : {}),
    };
    return new Promise((resolve, reject) => {
      const outgoing = target.scheme === 'https' ? https.request({ ...options, agent: this.httpsAgent }) : http.request({ ...options, agent: this.httpAgent });
      outgoing.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => outgoing.destroy(new EgressFailure('connection-timeout', `connecting to ${target.host}:${target.port} took longer than ${req.connectTimeoutMs} ms`)), req.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      outgoing.once('response', resolve);
      outgoing.once('error', (error) => reject(toFailure(error, target)));
      outgoing.end(req.body.length > 0 ? req.body : undefined);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** As Node wants them: repeated headers as arrays. (A raw array would stop Node from adding Host.) */
function headerObject(headers: readonly [string, string][]): http.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const existing = out[key];
    out[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return out;
}

const TLS_CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/;

/** A Node error from the request as a failure the guest can act on; messages name the host, nothing secret. */
export function toFailure(error: unknown, target: RequestTarget): EgressFailure {
  if (error instanceof EgressFailure) return error;
  const where = `${target.host}:${target.port}`;
  const code = (error as { code?: unknown }).code;
  const name = (error as { name?: unknown }).name;
  if (name === 'AbortError') return new EgressFailure('timeout', `the request to ${where} was stopped: the task's time ran out or the run ended`);
  if (code === 'ECONNREFUSED') return new EgressFailure('connection-refused', `${where} refused the connection`);
  if (code === 'ETIMEDOUT') return new EgressFailure('connection-timeout', `connecting to ${where} timed out`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return new EgressFailure('dns', `the name ${target.host} does not resolve`);
  if (typeof code === 'string' && TLS_CERTIFICATE_CODES.test(code)) return new EgressFailure('tls-certificate', `the TLS certificate of ${where} was not accepted (${code})`);
  return new EgressFailure('failed', `the request to ${where} failed (${typeof code === 'string' ? code : error instanceof Error ? error.message : 'unknown error'})`);
}
