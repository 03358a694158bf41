/**
 * Health endpoints for orchestrators (`capsule worker --health 127.0.0.1:8080`):
 * - `GET /livez`: 200 while the process runs and its event loop answers (a liveness probe restarts it otherwise);
 * - `GET /readyz`: 200 when the worker is connected and polling — its state is RUNNING, both pollers poll and the
 *   server answers a health check — otherwise 503 with the reason. It turns 503 ("draining") as soon as a shutdown
 *   is requested, so a load balancer or rollout stops counting on the worker while its steps finish.
 * Bodies are small JSON objects; nothing else is served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Readiness {
  ready: boolean;
  /** Why not ready (or "ready"). */
  reason: string;
}

/** Answers a readiness probe; may be asynchronous (a round trip to the server). */
export type ReadinessProbe = () => Promise<Readiness>;

export interface HealthServer {
  /** host:port it listens on. */
  address: string;
  /** Replaces what /readyz asks (until then it says "starting"). */
  setProbe(probe: ReadinessProbe): void;
  /** From now on /readyz answers 503 "draining". */
  drain(): void;
  close(): Promise<void>;
}

export async function startHealthServer(host: string, port: number): Promise<HealthServer> {
  let probe: ReadinessProbe = async () => ({ ready: false, reason: 'starting' });
  let draining = false;
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify(body)}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { error: 'GET or HEAD only' });
    const route = (req.url ?? '/').split('?')[0];
    if (route === '/livez') return reply(200, { status: 'alive', pid: process.pid });
    if (route !== '/readyz') return reply(404, { error: 'not found: /livez (liveness) or /readyz (readiness)' });
    if (draining) return reply(503, { status: 'not ready', reason: 'draining: a shutdown was requested' });
    probe().then(
      (readiness) => reply(readiness.ready ? 200 : 503, readiness.ready ? { status: 'ready' } : { status: 'not ready', reason: readiness.reason }),
      (error: unknown) => reply(503, { status: 'not ready', reason: `readiness check failed: ${error instanceof Error ? error.message : String(error)}` }),
    );
  });
  // Probes come from an orchestrator: keep-alive connections must not hold the process open at shutdown.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    setProbe(next) {
      probe = next;
    },
    drain() {
      draining = true;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** How long one answer from the server counts (probes arrive every few seconds; the server gets at most this many checks). */
const SERVER_CHECK_TTL_MS = 1000;
const SERVER_CHECK_TIMEOUT_MS = 3000;

export interface WorkerView {
  getStatus(): { runState: string; workflowPollerState: string; activityPollerState: string };
}

export interface ServerView {
  withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T>;
  healthService: { check(request: object): Promise<{ status?: number | null }> };
}

/** Ready: the worker runs, both its pollers poll, and the server said SERVING within the last second. */
export function workerReadiness(worker: WorkerView, connection: ServerView): ReadinessProbe {
  let last: { at: number; result: Readiness } | undefined;
  const checkServer = async (): Promise<Readiness> => {
    if (last && Date.now() - last.at < SERVER_CHECK_TTL_MS) return last.result;
    let result: Readiness;
    try {
      const response = await connection.withDeadline(Date.now() + SERVER_CHECK_TIMEOUT_MS, () => connection.healthService.check({}));
      // grpc.health.v1 ServingStatus: 1 = SERVING.
      result = response.status === 1 ? { ready: true, reason: 'ready' } : { ready: false, reason: `the Temporal server reports status ${response.status ?? 'unknown'}` };
    } catch (error) {
      result = { ready: false, reason: `the Temporal server does not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
    last = { at: Date.now(), result };
    return result;
  };
  return async () => {
    const status = worker.getStatus();
    if (status.runState !== 'RUNNING') return { ready: false, reason: `worker state ${status.runState}` };
    if (status.workflowPollerState !== 'POLLING' || status.activityPollerState !== 'POLLING') {
      return { ready: false, reason: `pollers: workflow ${status.workflowPollerState}, activity ${status.activityPollerState}` };
    }
    return checkServer();
  };
}
