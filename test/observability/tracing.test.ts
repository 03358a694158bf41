/**
 * Traces for real: a worker with tracing on the suite's dev server runs pipelines whose spans land in an in-memory
 * exporter — one per workflow, activity and sandbox run (sub-tasks as children), one trace per pipeline — with the
 * envelope's figures as attributes and none of its values. Then OTLP: spans reach a collector of our own on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SpanStatusCode } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome } from '../../src/client/outcome.js';
import { createWorker } from '../../src/client/worker.js';
import { otlpSpanProcessor } from '../../src/observability/otlp.js';
import { resolveObservability, resolveOtlp } from '../../src/observability/settings.js';
import { createTracing, envelopeAttributes, type Tracing } from '../../src/observability/tracing.js';
import { Sandbox, type Envelope } from '../../src/sandbox/index.js';
import { createHarness, type Harness } from '../temporal/helpers.js';

const TASK = fileURLToPath(new URL('./fixtures/observed.ts', import.meta.url));
const step = (id: string, task: string, extra: object = {}) => ({ id, task: `${TASK}#${task}`, ...extra });
const MARKERS = /MARKER/;

let harness: Harness;
let exporter: InMemorySpanExporter;
let tracing: Tracing;
let sandbox: Sandbox;

beforeAll(async () => {
  harness = await createHarness();
  exporter = new InMemorySpanExporter();
  tracing = createTracing({ spanProcessor: new SimpleSpanProcessor(exporter), resource: new Resource({ 'service.name': 'capsule-test' }) });
  sandbox = await Sandbox.create({ poolSize: 2, observer: tracing.observer });
});

afterAll(async () => {
  await sandbox?.close();
  await tracing?.shutdown();
  await harness?.close();
});

/** Runs pipelines on a traced worker; returns the spans of the workflow `workflowId`'s trace. */
async function traced(definitions: { name: string; steps: object[] }[]): Promise<Map<string, ReadableSpan[]>> {
  const taskQueue = harness.queue('traced');
  const connection = await NativeConnection.connect({ address: harness.address });
  const worker = await createWorker({ connection, namespace: 'default', taskQueue, sandbox, dataConverter: harness.payloads.dataConverter, tracing: tracing.worker, shutdownGraceTime: '1s' });
  const running = worker.run();
  const ids: string[] = [];
  try {
    for (const definition of definitions) {
      const { handle } = await harness.start(harness.writePipeline(definition), taskQueue, { input: { marker: 'INPUT-MARKER' }, record: false });
      await awaitOutcome(handle);
      ids.push(handle.workflowId);
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  const spans = exporter.getFinishedSpans();
  const byWorkflow = new Map<string, ReadableSpan[]>();
  for (const id of ids) {
    // The activity spans name their workflow; the workflow's span is the root of their trace.
    const activity = spans.find((s) => s.name === 'RunActivity:runTask' && s.attributes.temporalWorkflowId === id);
    expect(activity, `no activity span for ${id} among ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
    byWorkflow.set(id, spans.filter((s) => s.spanContext().traceId === activity!.spanContext().traceId));
  }
  return byWorkflow;
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (spans: ReadableSpan[], span: ReadableSpan) => spans.find((s) => s.spanContext().spanId === span.parentSpanId);

describe('tracing', () => {
  it('gives each workflow, activity and sandbox run a span, nested in one trace, with figures and no values', async () => {
    const traces = await traced([
      { name: 'traced-ok', steps: [step('ok', 'ok', { input: '{{ input }}' }), step('denied', 'denied', { dependsOn: ['ok'] })] },
      { name: 'traced-fails', steps: [step('fails', 'fails')] },
    ]);
    const [ok, failing] = [...traces.values()];
    const workflow = named(ok!, 'RunWorkflow:pipeline')[0]!;
    expect(workflow.parentSpanId).toBeUndefined();
    expect(named(ok!, 'StartActivity:runTask')).toHaveLength(2);
    const activities = named(ok!, 'RunActivity:runTask');
    expect(activities).toHaveLength(2);
    // workflow -> StartActivity (in the workflow) -> RunActivity (on the worker, through the activity's headers)
    for (const activity of activities) expect(parentOf(ok!, parentOf(ok!, activity)!)).toBe(workflow);

    const [run] = named(ok!, 'RunSandbox:ok');
    const [child] = named(ok!, 'RunSandbox:child');
    expect(parentOf(ok!, run!)!.name).toBe('RunActivity:runTask');
    expect(parentOf(ok!, child!)).toBe(run);
    expect(run!.status.code).toBe(SpanStatusCode.OK);
    expect(run!.attributes).toMatchObject({
      'capsule.task.name': 'ok',
      'capsule.task.language': 'js',
      'capsule.sandbox.depth': 0,
      'capsule.outcome': 'success',
      'capsule.fuel.limit': 2_000_000_000,
      'capsule.memory.limit_bytes': 64 * 1024 * 1024,
      'capsule.denials': 0,
      'capsule.output.truncated': false,
    });
    expect(run!.attributes['capsule.fuel.consumed']).toBeGreaterThan(0);
    expect(run!.attributes['capsule.memory.peak_bytes']).toBeGreaterThan(0);
    expect(run!.attributes['capsule.output.stdout_bytes']).toBeGreaterThan(0);
    expect(child!.attributes).toMatchObject({ 'capsule.task.name': 'child', 'capsule.sandbox.depth': 1 });
    expect(named(ok!, 'RunSandbox:denied')[0]!.attributes).toMatchObject({ 'capsule.denials': 1, 'capsule.outcome': 'success' });

    // The failing task: its sandbox span says why by error type; its message (which may quote data) stays out.
    const [failed] = named(failing!, 'RunSandbox:fails');
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'task_error' });
    expect(failed!.attributes['capsule.outcome']).toBe('task_error');

    // No input, result, output or error message anywhere in Capsule's spans: only figures.
    for (const span of [...ok!, ...failing!].filter((s) => s.name.startsWith('RunSandbox:'))) {
      expect(JSON.stringify({ attributes: span.attributes, events: span.events, status: span.status })).not.toMatch(MARKERS);
    }
  });

  it('takes only figures from an envelope', () => {
    const envelope: Envelope = {
      success: false,
      result: 'RESULT-MARKER',
      error: { error_type: 'permission_denied', message: 'ERROR-MESSAGE-MARKER' },
      execution: {
        task_name: 't', duration_ms: 5, retries: 0, fuel_consumed: 10, fuel_limit: 100, ram_used: 1, ram_limit: 2,
        host_requests: [{ method: 'GET', url: 'https://example.com/?q=URL-MARKER', status: null, allowed: false }],
        denials: [{ capability: 'network', target: 'https://example.com/?q=URL-MARKER', reason: 'REASON-MARKER' }],
        stdout: 'STDOUT-MARKER', stderr: '', truncated: false,
      },
    };
    const attributes = envelopeAttributes(envelope);
    expect(JSON.stringify(attributes)).not.toMatch(MARKERS);
    expect(attributes).toMatchObject({ 'capsule.outcome': 'permission_denied', 'capsule.host_requests': 1, 'capsule.host_requests.denied': 1, 'capsule.denials': 1, 'capsule.output.stdout_bytes': 13 });
  });
});

describe('OTLP export', () => {
  /** A collector of our own: records each request's path, content type and body. */
  async function collector() {
    const received: { path: string; type: string; body: Buffer }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type']?.includes('json') ? '{}' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => new Promise((r) => server.close(r)) };
  }

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`sends spans to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces as ${protocol}`, async () => {
      const sink = await collector();
      try {
        const settings = resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: `${sink.url}/`, OTEL_EXPORTER_OTLP_PROTOCOL: protocol })!;
        expect(settings).toEqual({ url: `${sink.url}/v1/traces`, protocol, source: 'environment variable OTEL_EXPORTER_OTLP_ENDPOINT' });
        const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'capsule-otlp-test' }) });
        provider.addSpanProcessor(otlpSpanProcessor(settings));
        provider.getTracer('t').startSpan('RunSandbox:exported').end();
        await provider.shutdown();
        expect(sink.received.map((r) => r.path)).toEqual(['/v1/traces']);
        expect(sink.received[0]!.type).toContain(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
        expect(sink.received[0]!.body.toString('latin1')).toContain('RunSandbox:exported');
        expect(sink.received[0]!.body.toString('latin1')).toContain('capsule-otlp-test');
      } finally {
        await sink.close();
      }
    });
  }

  it('follows the OpenTelemetry variables and names the one that is wrong', () => {
    expect(resolveOtlp(undefined, {})).toBeUndefined();
    expect(resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://d:4318' })).toMatchObject({ url: 'http://c:4318/custom', protocol: 'http/protobuf' });
    expect(resolveOtlp('http://flag:4318', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/v1/traces' })).toEqual({ url: 'http://flag:4318/v1/traces', protocol: 'http/protobuf', source: '--otlp-endpoint' });
    expect(() => resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow('environment variable OTEL_EXPORTER_OTLP_ENDPOINT: got "collector:4318"; expected an http(s) URL');
    expect(() => resolveOtlp(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: got "grpc"; expected "http\/protobuf".*HTTP port \(4318\)/);
    expect(() => resolveOtlp(undefined, { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow('environment variable OTEL_TRACES_EXPORTER: got "zipkin"');
    expect(() => resolveObservability({ metrics: '127.0.0.1:9464', health: '0.0.0.0:9464' }, {})).toThrow('--metrics and --health both ask for port 9464');
    expect(resolveObservability({}, { CAPSULE_METRICS_ADDRESS: '[::1]:9464' }).metrics).toEqual({ host: '::1', port: 9464, text: '[::1]:9464' });
  });
});
