/**
 * The network edge. Every HTTP request a guest makes is re-addressed by its thread's `wasi:http` import to this
 * loopback endpoint, on the main thread, with the run's token and the original target in the path:
 * `/egress/<token>/<encoded scheme://authority><path?query>`. The token maps to the run's grants (EgressRun), so
 * the guest's claims never choose them; the guest cannot reach this endpoint itself (it is loopback, and its port
 * is refused even where loopback is granted). Secret values live here, never in a sandbox thread.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressRun, fail, type EgressGrant, type EgressSettings } from './egress-run.js';
import { EGRESS_PATH } from './protocol.js';
import { EgressFailure, systemResolver, type Resolver } from './upstream.js';

export interface EgressOptions {
  /** Name -> addresses. Default: the system resolver. Tests inject one (e.g. a public name -> 127.0.0.1). */
  resolver?: Resolver;
  /** Extra CA certificates (PEM) to trust besides the system's: for tests and private CAs. */
  trustedCertificates?: readonly string[];
  /** Longest wait for a connection to open (always within the task's own timeout). Default 10 s. */
  connectTimeoutMs?: number;
}

export class EgressServer {
  private readonly runs = new Map<string, EgressRun>();

  private constructor(private readonly server: http.Server, readonly authority: string, private readonly settings: EgressSettings) {}

  /** `reservedAuthorities`: Capsule's other loopback endpoints ("127.0.0.1:port"), refused like this one. */
  static async start(options: EgressOptions, reservedAuthorities: readonly string[]): Promise<EgressServer> {
    let instance: EgressServer | undefined;
    const server = http.createServer((req, res) => void instance!.handle(req, res));
    // Guests' keep-alive connections come from the threads' HTTP helpers; idle ones are closed after a while.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const { port } = server.address() as AddressInfo;
    const reservedPorts = new Set([port, ...reservedAuthorities.map((a) => Number(a.slice(a.lastIndexOf(':') + 1)))]);
    const settings: EgressSettings = {
      resolver: options.resolver ?? systemResolver,
      trustedCertificates: options.trustedCertificates ?? [],
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reservedPorts,
    };
    instance = new EgressServer(server, `127.0.0.1:${port}`, settings);
    return instance;
  }

  /** Opens a token for one run; the returned `close` aborts its requests and forgets it. */
  register(grant: EgressGrant): { token: string; close: () => void } {
    const token = randomBytes(24).toString('hex');
    const run = new EgressRun(grant, this.settings);
    this.runs.set(token, run);
    return {
      token,
      close: () => {
        this.runs.delete(token);
        run.close();
      },
    };
  }

  close(): Promise<void> {
    for (const run of this.runs.values()) run.close();
    this.runs.clear();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const match = EGRESS_PATH.exec(req.url ?? '');
    const run = match ? this.runs.get(match[1]!) : undefined;
    if (!match || !run) {
      req.resume();
      return fail(res, new EgressFailure('denied', 'unknown or finished run'));
    }
    let origin: string;
    try {
      origin = decodeURIComponent(match[2]!);
    } catch {
      origin = '';
    }
    const separator = origin.indexOf('://');
    const guest = { scheme: origin.slice(0, Math.max(0, separator)), authority: origin.slice(separator + 3), pathWithQuery: match[3] ?? '/' };
    try {
      await run.forward(guest, req, res);
    } catch {
      // forward() reports its own failures; this is a last resort so one bad request never takes the host down.
      if (!res.headersSent) fail(res, new EgressFailure('failed', 'the egress could not complete the request'));
      else res.destroy();
    }
  }
}
