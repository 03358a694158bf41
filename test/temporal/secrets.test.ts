/**
 * A secret through a pipeline on the suite's Temporal server: the step narrows the task's secret to one host; the
 * value reaches the loopback echo server only there, and appears nowhere in the envelope, stdout, stderr, the
 * workflow's history or the worker's log. The value comes from the worker process's environment.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { installRuntime } from '../../src/client/runtime.js';
import { createHarness, type Harness } from './helpers.js';

const VALUE = 'sk-pipeline-9c8b7a6d5e4f3a2b1c0d';
const seen: { port: number; key: string | undefined }[] = [];
const log: string[] = [];
let h: Harness;
let echo: http.Server;
let other: http.Server;
let dir: string;
const originalWrite = process.stderr.write.bind(process.stderr);

function listen(): Promise<[http.Server, number]> {
  const server = http.createServer((req, res) => {
    seen.push({ port: (req.socket.address() as AddressInfo).port, key: req.headers['x-api-key'] as string | undefined });
    res.end(`echo: ${String(req.headers['x-api-key'])}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve([server, (server.address() as AddressInfo).port])));
}

beforeAll(async () => {
  // The worker's log, at INFO (the level a deployed worker logs at), captured from this process's stderr.
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    log.push(String(chunk));
    return originalWrite(chunk, ...rest);
  }) as typeof process.stderr.write;
  installRuntime('INFO');
  process.env.PIPELINE_API_KEY = VALUE;
  h = await createHarness();
});
afterAll(async () => {
  process.stderr.write = originalWrite;
  delete process.env.PIPELINE_API_KEY;
  expect(await h.replayAll()).toBeGreaterThan(0);
  await h.close();
  for (const server of [echo, other]) {
    server.closeAllConnections();
    server.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

it('reaches the echo server only under its host, and is nowhere in the record', async () => {
  let echoPort: number;
  let otherPort: number;
  [echo, echoPort] = await listen();
  [other, otherPort] = await listen();
  dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-pipeline-secret-'));
  const [ECHO, OTHER] = [`127.0.0.1:${echoPort}`, `127.0.0.1:${otherPort}`];
  writeFileSync(path.join(dir, 'call.ts'), `
import { task } from 'capsule';
export const main = task({ name: 'main', allowedHosts: ['${ECHO}', '${OTHER}'], secrets: { PIPELINE_API_KEY: ['${ECHO}', '${OTHER}'] } }, async () => {
  const key = process.env.PIPELINE_API_KEY!;
  console.log('calling with', key);
  console.error('stderr sees', key);
  const echoed = await (await fetch('http://${ECHO}/', { headers: { 'x-api-key': key } })).text();
  let other = 'sent';
  try { await fetch('http://${OTHER}/', { headers: { 'x-api-key': key } }); } catch (error) { other = String(error); }
  return { echoed, other };
});
`);
  const file = h.writePipeline({ name: 'secret-pipeline', steps: [{ id: 'call', task: path.join(dir, 'call.ts'), secrets: { PIPELINE_API_KEY: [ECHO] } }] });
  const outcome = await h.run(file, { baseDir: dir });
  expect(outcome.status).toBe('succeeded');

  // Under its host only: the step narrowed the task's two hosts to one.
  expect(seen).toEqual([{ port: echoPort, key: VALUE }]);
  const step = { envelope: (await h.envelopes(outcome)).get('call') };
  expect(step.envelope?.result).toEqual({ echoed: expect.stringMatching(/^echo: capsule-secret-PIPELINE_API_KEY-[0-9a-f]{32}$/), other: expect.stringContaining('Error') });
  expect(step.envelope?.execution.denials).toEqual([
    { capability: 'network', target: `http://${OTHER}/`, reason: `secret "PIPELINE_API_KEY" may only be sent to ${ECHO}, not to ${OTHER}` },
  ]);
  expect(step.envelope?.execution.stdout).toMatch(/^calling with capsule-secret-PIPELINE_API_KEY-/);

  // Payloads are base64 in the history: decoded, every one of them is searched too.
  const raw = JSON.stringify(await h.history(outcome.workflowId));
  const payloads: string[] = [];
  JSON.parse(raw, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') payloads.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  const history = [raw, ...payloads].join('\n');
  expect(history.includes('capsule-secret-PIPELINE_API_KEY-')).toBe(true);
  for (const [where, text] of [['result', JSON.stringify(outcome.result)], ['history', history], ['worker log', log.join('')]] as const) {
    expect(text.includes(VALUE), where).toBe(false);
    expect(text.includes(Buffer.from(VALUE).toString('base64')), where).toBe(false);
  }
  expect(log.join('')).toContain('step finished');
});
