/**
 * Traces through OpenTelemetry: the Temporal SDK's interceptors (@temporalio/interceptors-opentelemetry) give a span
 * per workflow (`RunWorkflow:pipeline`, exported from the workflow sandbox through a sink), per activity scheduled
 * and run (`StartActivity:runTask`, `RunActivity:runTask`), and Capsule adds one per sandbox run (`RunSandbox:<task>`,
 * sub-tasks as children) with the envelope's figures as attributes — never arguments, results, output or secrets.
 */
import { createRequire } from 'node:module';
import { context, trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, makeWorkflowExporter, type OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Envelope, RunObserver, RunWatch } from '../sandbox/index.js';

/** The workflow-side interceptors: bundled into the workflow code (src/client/worker.ts) when tracing is on. */
export const WORKFLOW_TRACING_MODULES = [createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/** What a worker adds to its options to trace (src/client/worker.ts). */
export interface WorkerTracing {
  interceptors: Pick<WorkerInterceptors, 'activity'>;
  sinks: InjectedSinks<OpenTelemetrySinks>;
  workflowModules: string[];
}

export interface Tracing {
  tracer: Tracer;
  /** Spans for sandbox runs (src/sandbox/observer.ts). */
  observer: RunObserver;
  worker: WorkerTracing;
  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  spanProcessor: SpanProcessor;
  resource: Resource;
}

const TRACER_NAME = 'capsule';

/**
 * Registers a tracer provider for this process (with an AsyncLocalStorage context manager, so the activity's span is
 * the parent of the sandbox runs it starts, and W3C trace-context propagation, which carries a workflow's span to its
 * activities in their headers) and builds what workers and the sandbox need.
 */
export function createTracing(options: TracingOptions): Tracing {
  const provider = new BasicTracerProvider({ resource: options.resource });
  provider.addSpanProcessor(options.spanProcessor);
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  const tracer = provider.getTracer(TRACER_NAME);
  return {
    tracer,
    observer: sandboxSpans(tracer),
    worker: {
      interceptors: {
        activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      },
      sinks: { exporter: makeWorkflowExporter(options.spanProcessor, options.resource) },
      workflowModules: WORKFLOW_TRACING_MODULES,
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}

/** One span per sandbox run, a child of the caller's active span (the activity) or of the calling run (sub-tasks). */
function sandboxSpans(tracer: Tracer): RunObserver {
  const spans = new WeakMap<RunWatch, Span>();
  return {
    runStarted({ task, language, depth, parent }) {
      const parentSpan = parent === undefined ? undefined : spans.get(parent);
      const parentContext = parentSpan === undefined ? context.active() : trace.setSpan(context.active(), parentSpan);
      const span = tracer.startSpan(`RunSandbox:${task}`, { attributes: { 'capsule.task.language': language, 'capsule.sandbox.depth': depth } }, parentContext);
      const watch: RunWatch = {
        ended(envelope) {
          span.setAttributes(envelopeAttributes(envelope));
          if (envelope.success) span.setStatus({ code: SpanStatusCode.OK });
          else span.setStatus({ code: SpanStatusCode.ERROR, message: envelope.error?.error_type ?? 'internal_error' });
          span.end();
        },
        failed(error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'the host failed around the run' });
          span.recordException(error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) });
          span.end();
        },
      };
      spans.set(watch, span);
      return watch;
    },
  };
}

/**
 * The envelope's figures, as span attributes. Only sizes, counts and limits: arguments, results, output, messages
 * (which may quote data) and the targets of requests and denials stay out of traces.
 */
export function envelopeAttributes(envelope: Envelope): Record<string, string | number | boolean> {
  const e = envelope.execution;
  return {
    'capsule.task.name': e.task_name,
    'capsule.outcome': envelope.success ? 'success' : (envelope.error?.error_type ?? 'internal_error'),
    'capsule.duration_ms': e.duration_ms,
    'capsule.fuel.consumed': e.fuel_consumed,
    'capsule.fuel.limit': e.fuel_limit,
    'capsule.memory.peak_bytes': e.ram_used,
    'capsule.memory.limit_bytes': e.ram_limit,
    'capsule.host_requests': e.host_requests.length,
    'capsule.host_requests.denied': e.host_requests.filter((r) => !r.allowed).length,
    'capsule.denials': e.denials.length,
    'capsule.output.stdout_bytes': Buffer.byteLength(e.stdout),
    'capsule.output.stderr_bytes': Buffer.byteLength(e.stderr),
    'capsule.output.truncated': e.truncated,
    ...(e.narrowed === undefined ? {} : { 'capsule.narrowed': e.narrowed.map((n) => n.option).join(',') }),
  };
}
