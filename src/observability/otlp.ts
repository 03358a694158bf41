/** The OTLP exporter and resource for traces (settings from settings.ts). */
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { OtlpSettings } from './settings.js';

/** Batches spans (the SDK's defaults: every 5 s or 512 spans) and sends them to the collector. */
export function otlpSpanProcessor(settings: OtlpSettings): SpanProcessor {
  const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter({ url: settings.url }) : new OtlpProtobufExporter({ url: settings.url });
  return new BatchSpanProcessor(exporter);
}

/** service.name "capsule-worker" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise. */
export function workerResource(): Resource {
  return new Resource({ 'service.name': 'capsule-worker' }).merge(envDetectorSync.detect());
}
