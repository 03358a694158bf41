/**
 * What a worker exports, from its flags and environment: `--metrics` / CAPSULE_METRICS_ADDRESS (Prometheus),
 * `--health` / CAPSULE_HEALTH_ADDRESS (probes), and traces by OTLP when `--otlp-endpoint` or the standard
 * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set. Errors name the flag or variable and what was expected.
 */
import { ObservabilityConfigError } from './errors.js';

export interface ListenAddress {
  host: string;
  port: number;
  /** As given, for messages and for the SDK's exporter. */
  text: string;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface OtlpSettings {
  /** The traces endpoint (…/v1/traces). */
  url: string;
  protocol: OtlpProtocol;
  /** Where the endpoint came from, for the worker's start-up log. */
  source: string;
}

export interface ObservabilitySettings {
  metrics?: ListenAddress;
  health?: ListenAddress;
  otlp?: OtlpSettings;
}

export interface ObservabilityFlags {
  metrics?: string;
  health?: string;
  otlpEndpoint?: string;
}

type Env = Record<string, string | undefined>;

export function resolveObservability(flags: ObservabilityFlags, env: Env): ObservabilitySettings {
  const listen = (flag: string, value: string | undefined, variable: string) => {
    const given = value ?? nonEmpty(env[variable]);
    return given === undefined ? undefined : parseListenAddress(given, value === undefined ? `environment variable ${variable}` : flag);
  };
  const metrics = listen('--metrics', flags.metrics, 'CAPSULE_METRICS_ADDRESS');
  const health = listen('--health', flags.health, 'CAPSULE_HEALTH_ADDRESS');
  if (metrics && health && metrics.port === health.port && metrics.port !== 0) {
    throw new ObservabilityConfigError(`--metrics and --health both ask for port ${metrics.port}: give them different ports`);
  }
  const otlp = resolveOtlp(flags.otlpEndpoint, env);
  return { ...(metrics ? { metrics } : {}), ...(health ? { health } : {}), ...(otlp ? { otlp } : {}) };
}

/** host:port with an IPv4 address, a name, or a bracketed IPv6 address; port 0 picks a free one (tests). */
export function parseListenAddress(value: string, where: string): ListenAddress {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw new ObservabilityConfigError(`${where}: got "${value}"; expected host:port such as "127.0.0.1:9464" (or "0.0.0.0:9464" to listen on every interface)`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port, text: value };
}

/**
 * OTLP follows the OpenTelemetry environment specification: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn
 * it off; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL, OTEL_EXPORTER_OTLP_ENDPOINT (or the flag) a base to
 * which /v1/traces is added; the protocol defaults to http/protobuf. Headers, timeout and compression
 * (OTEL_EXPORTER_OTLP_HEADERS, ...) are read by the exporter itself; the resource from OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES.
 */
export function resolveOtlp(flagEndpoint: string | undefined, env: Env): OtlpSettings | undefined {
  if (flagEndpoint === undefined) {
    if (nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true') return undefined;
    const exporter = nonEmpty(env.OTEL_TRACES_EXPORTER)?.toLowerCase();
    if (exporter === 'none') return undefined;
    if (exporter !== undefined && exporter !== 'otlp') {
      throw new ObservabilityConfigError(`environment variable OTEL_TRACES_EXPORTER: got "${env.OTEL_TRACES_EXPORTER}"; Capsule exports traces by "otlp" (or "none")`);
    }
  }
  const tracesEndpoint = flagEndpoint === undefined ? nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) : undefined;
  const base = flagEndpoint ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const source = flagEndpoint !== undefined ? '--otlp-endpoint' : tracesEndpoint !== undefined ? 'environment variable OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'environment variable OTEL_EXPORTER_OTLP_ENDPOINT';
  const given = tracesEndpoint ?? base;
  if (given === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw new ObservabilityConfigError(`${source}: got "${given}"; expected an http(s) URL such as "http://127.0.0.1:4318"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ObservabilityConfigError(`${source}: got "${given}"; expected an http(s) URL such as "http://127.0.0.1:4318" (Capsule sends OTLP over HTTP)`);
  }
  const url = tracesEndpoint ?? `${given.replace(/\/+$/, '')}/v1/traces`;
  const protocolVariable = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = nonEmpty(env[protocolVariable]) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ObservabilityConfigError(
      `environment variable ${protocolVariable}: got "${protocol}"; expected "http/protobuf" (the default) or "http/json" — for a collector's gRPC port (4317), use its HTTP port (4318) instead`,
    );
  }
  return { url, protocol, source };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
