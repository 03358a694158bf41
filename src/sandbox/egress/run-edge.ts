/**
 * Opens one run's network edge: the placeholders its guest sees instead of its secrets' values, its egress
 * registration, and a final redaction of the envelope. The options are the run's own (a sub-task's already cut down
 * to its caller's, narrow.ts). The sandbox calls this once per run; nothing here runs in a sandbox thread.
 */
import type { ResolvedTaskOptions } from '../../config/task-options.js';
import type { SecretGrants } from '../../config/secrets.js';
import type { Envelope } from '../envelope.js';
import type { GuestEvent } from '../host/protocol.js';
import { NetworkPolicy } from '../policy/network-policy.js';
import type { EgressServer } from './egress-server.js';
import { RunSecrets, type PlaceholderKey } from './run-secrets.js';

export interface EdgeContext {
  egress: EgressServer;
  key: PlaceholderKey;
  /** A secret's value from the worker's environment or `.env` files; undefined when unset. */
  secretValue(name: string): string | undefined;
}

export interface RunEdge {
  /** Placeholders by secret name, for the guest's environment. */
  environment: Record<string, string>;
  endpoint: { authority: string; token: string };
  /** Every string of the envelope with secret values replaced by their placeholders. */
  redact(envelope: Envelope): Envelope;
  close(): void;
}

export interface OpenEdge {
  options: ResolvedTaskOptions;
  report(event: GuestEvent): void;
}

export function openRunEdge(ctx: EdgeContext, open: OpenEdge): RunEdge {
  const held = open.options.secrets;
  const values = new Map<string, string>();
  for (const name of Object.keys(held)) {
    const value = ctx.secretValue(name);
    if (value !== undefined) values.set(name, value);
  }
  const secrets = new RunSecrets(held, values, ctx.key);
  const registration = ctx.egress.register({
    network: new NetworkPolicy(open.options.allowedHosts),
    secrets,
    maxResponseBytes: open.options.maxResponseSize,
    report: open.report,
  });
  return {
    environment: secrets.environment(),
    endpoint: { authority: ctx.egress.authority, token: registration.token },
    redact: (envelope) => (secrets.active ? redactValue(envelope, (text) => secrets.redact(text)) : envelope),
    close: registration.close,
  };
}

/** Which listed variable holds a secret's value (another route into the guest), if any. */
export function variableHoldingSecret(listed: Record<string, string>, secrets: SecretGrants, secretValue: (name: string) => string | undefined): { variable: string; secret: string } | undefined {
  for (const secret of Object.keys(secrets)) {
    const value = secretValue(secret);
    if (value === undefined || value === '') continue;
    const variable = Object.keys(listed).find((name) => listed[name] === value);
    if (variable !== undefined) return { variable, secret };
  }
  return undefined;
}

function redactValue<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item, redact)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactValue(v, redact)])) as T;
  }
  return value;
}
