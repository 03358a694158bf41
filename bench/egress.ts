/**
 * Network egress (issue 12): the latency the egress adds to one HTTP request, measured against a direct request
 * from Node to the same loopback server in the same run, with and without a secret to substitute and redact; and
 * a guest's fetch end to end (thread -> egress -> server), for scale.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EgressServer } from '../src/sandbox/egress/egress-server.js';
import { egressPath } from '../src/sandbox/egress/protocol.js';
import { PlaceholderKey, RunSecrets } from '../src/sandbox/egress/run-secrets.js';
import { bundleTaskFile, Sandbox } from '../src/sandbox/index.js';
import { NetworkPolicy } from '../src/sandbox/policy/network-policy.js';
import { median, percentile } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REQUESTS = 500;
/** Sub-millisecond figures: two decimals. */
const ms = (value: number) => `${value.toFixed(2)} ms`;

function get(agent: http.Agent, port: number, pathWithQuery: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: pathWithQuery, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('error', reject);
  });
}

async function series(run: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < 50; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS; i++) samples.push(await run());
  return samples;
}

export async function benchEgress(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const server = http.createServer((req, res) => res.end(`{"ok":true,"auth":${JSON.stringify(req.headers.authorization ?? null)}}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const target = `127.0.0.1:${port}`;
  const egress = await EgressServer.start({}, []);
  const egressPort = Number(egress.authority.split(':')[1]);
  const key = new PlaceholderKey();
  const grant = (secrets: RunSecrets) => egress.register({
    network: new NetworkPolicy([target]), secrets, maxResponseBytes: 10 * 1024 * 1024, report: () => {},
  });
  const plain = grant(new RunSecrets({}, new Map(), key));
  const secret = grant(new RunSecrets({ API_KEY: [target] }, new Map([['API_KEY', 'sk-bench-0123456789abcdef']]), key));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sandbox = await Sandbox.create({ poolSize: 1 });
  try {
    const direct = await series(() => get(agent, port, '/'));
    const viaEgress = await series(() => get(agent, egressPort, egressPath(plain.token, 'http', target, '/')));
    const withSecret = await series(() => get(agent, egressPort, egressPath(secret.token, 'http', target, '/'), { authorization: `Bearer ${key.placeholder('API_KEY')}` }));
    const bundle = await bundleTaskFile(path.join(here, 'tasks/egress-bench.ts'));
    const run = () => sandbox.run({ bundle, task: 'fetches', args: [`http://${target}/`, 100], baseDir: here, defaults: { allowedHosts: [target] } });
    await run();
    const guest: number[] = [];
    for (let i = 0; i < 5; i++) {
      const envelope = await run();
      if (!envelope.success) throw new Error(`guest fetches failed: ${envelope.error?.message}`);
      guest.push(envelope.execution.duration_ms / 100);
    }
    const added = (samples: number[]) => `+${ms(median(samples) - median(direct))} (x${(median(samples) / median(direct)).toFixed(2)})`;
    out('| measure | result | baseline (same run) |');
    out('|---|---|---|');
    out(`| one GET through the egress (checks, resolve-free literal, pinned connect, stream back), ${REQUESTS} sequential | p50 ${ms(median(viaEgress))}, p95 ${ms(percentile(viaEgress, 95))}: ${added(viaEgress)} | direct Node GET p50 ${ms(median(direct))}, p95 ${ms(percentile(direct, 95))} |`);
    out(`| the same with a secret substituted in a header and the response redacted | p50 ${ms(median(withSecret))}, p95 ${ms(percentile(withSecret, 95))}: ${added(withSecret)} | direct Node GET p50 ${ms(median(direct))} |`);
    out(`| a guest's fetch end to end (JS, 100 sequential per run, median of 5 runs) | ${ms(median(guest))} per request | direct Node GET p50 ${ms(median(direct))} |`);
  } finally {
    plain.close();
    secret.close();
    agent.destroy();
    await Promise.all([egress.close(), sandbox.close()]);
    server.closeAllConnections();
    server.close();
  }
}
