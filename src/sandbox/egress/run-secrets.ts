/**
 * One run's secrets at the edge. The guest holds a placeholder per secret (its environment variable's value); the
 * egress swaps the real value in for the placeholder in request headers, and only for the secret's hosts. A
 * placeholder anywhere else (the URL, a body, a header to another host, a secret this run does not hold) refuses
 * the request, naming the secret and never its value. Every response, and everything the egress reports, is
 * redacted: an echoed value comes back as the placeholder. Values never leave the main thread.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { matchesHost, parseHostPattern, type HostPattern, type RequestTarget } from '../../config/host-pattern.js';
import type { SecretGrants } from '../../config/secrets.js';

/** Any placeholder, of this run or not: `capsule-secret-NAME-<32 hex>`. */
const PLACEHOLDER = /capsule-secret-([A-Za-z_][A-Za-z0-9_]*)-[0-9a-f]{32}/g;

/**
 * Placeholders are stable per secret within one process (an HMAC of the name under a key drawn at start), so a
 * placeholder a caller passes to a sub-task holding the same secret still works there; they reveal nothing.
 */
export class PlaceholderKey {
  private readonly key = randomBytes(32);
  placeholder(name: string): string {
    return `capsule-secret-${name}-${createHmac('sha256', this.key).update(name).digest('hex').slice(0, 32)}`;
  }
}

interface HeldSecret {
  name: string;
  value: string;
  placeholder: string;
  hosts: HostPattern[];
  hostList: string;
}

/** A form of a value to find in a response, and what replaces it there. */
export interface Needle {
  bytes: Buffer;
  text: string;
  placeholder: string;
}

/**
 * `echoes`: encoded forms of values this request carries (Basic credentials), with what the guest wrote instead:
 * a response echoing them is redacted too.
 */
export type Prepared = { ok: true; headers: [string, string][]; echoes: Needle[] } | { ok: false; reason: string };

export class RunSecrets {
  private readonly byPlaceholder = new Map<string, HeldSecret>();
  private readonly needles: Needle[] = [];

  /** `values` holds only the secrets that have a value; the others are absent from the guest. */
  constructor(grants: SecretGrants, values: ReadonlyMap<string, string>, key: PlaceholderKey) {
    for (const [name, hostTexts] of Object.entries(grants)) {
      const value = values.get(name);
      if (value === undefined || value === '') continue;
      const hosts = hostTexts.flatMap((text) => {
        const parsed = parseHostPattern(text);
        return parsed.ok ? [parsed.value] : [];
      });
      const held: HeldSecret = { name, value, placeholder: key.placeholder(name), hosts, hostList: hostTexts.join(', ') };
      this.byPlaceholder.set(held.placeholder, held);
      // The value as it may come back: raw, URL-encoded, JSON-escaped.
      for (const form of new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])) {
        this.needles.push({ bytes: Buffer.from(form), text: form, placeholder: held.placeholder });
      }
    }
    this.needles.sort((a, b) => b.bytes.length - a.bytes.length);
  }

  /** True when the run holds at least one secret with a value: responses are then decoded and redacted. */
  get active(): boolean {
    return this.byPlaceholder.size > 0;
  }

  /** What the guest's environment holds for each secret: its placeholder. */
  environment(): Record<string, string> {
    return Object.fromEntries([...this.byPlaceholder.values()].map((s) => [s.name, s.placeholder]));
  }

  /**
   * The headers to send to `target`, with each placeholder replaced by its value where the target is one of that
   * secret's hosts. A redirect hop (`followingRedirect`) drops a header carrying a secret to a host not its own
   * (as browsers drop Authorization across origins); the guest's own request is refused instead.
   */
  prepare(target: RequestTarget, headers: readonly [string, string][], body: Buffer, followingRedirect: boolean): Prepared {
    // The guest never holds a value; one in its request came by some other route (a file, an argument).
    const leaked = this.heldValueIn([target.url, ...headers.flat()], body);
    if (leaked) return { ok: false, reason: `the request carries the value of secret "${leaked.name}", which the task is not meant to know (it holds a placeholder)` };
    const inUrl = this.firstPlaceholder(target.url);
    if (inUrl) return { ok: false, reason: `${this.describe(inUrl)} may not be sent in a URL (${this.where(inUrl)})` };
    const inBody = body.length > 0 ? this.firstPlaceholder(body.toString('latin1')) : undefined;
    if (inBody) return { ok: false, reason: `${this.describe(inBody)} may not be sent in a request body (${this.where(inBody)})` };
    const out: [string, string][] = [];
    const echoes: Needle[] = [];
    for (const [name, value] of headers) {
      const inName = this.firstPlaceholder(name);
      if (inName) return { ok: false, reason: `${this.describe(inName)} may not be sent in a header name` };
      const substituted = this.substituteHeader(value, target);
      if (!substituted.ok) {
        if (!followingRedirect || !substituted.held) return { ok: false, reason: substituted.reason };
        continue;
      }
      out.push([name, substituted.value]);
      const sentBlob = /^Basic\s+(\S+)$/i.exec(substituted.value)?.[1];
      const guestBlob = /^Basic\s+(\S+)$/i.exec(value)?.[1];
      if (sentBlob && guestBlob && sentBlob !== guestBlob) echoes.push({ bytes: Buffer.from(sentBlob), text: sentBlob, placeholder: guestBlob });
    }
    return { ok: true, headers: out, echoes };
  }

  /** Replaces every secret value in `text` (and the request's `echoes`) with what the guest holds instead. */
  redact(text: string, echoes: readonly Needle[] = []): string {
    let out = text;
    for (const needle of [...echoes, ...this.needles]) out = out.split(needle.text).join(needle.placeholder);
    return out;
  }

  /** A stream that redacts a response body as it passes (a value split across chunks included). */
  redactor(echoes: readonly Needle[] = []): Transform {
    return new RedactingStream([...echoes, ...this.needles].sort((a, b) => b.bytes.length - a.bytes.length));
  }

  private substituteHeader(value: string, target: RequestTarget): { ok: true; value: string } | { ok: false; reason: string; held: boolean } {
    // Basic credentials are base64 of "user:password": the placeholder is inside, encoded.
    const basic = /^(Basic\s+)([A-Za-z0-9+/=]+)$/i.exec(value);
    if (basic) {
      const decoded = Buffer.from(basic[2]!, 'base64').toString('latin1');
      if (this.firstPlaceholder(decoded)) {
        const inner = this.substituteHeader(decoded, target);
        return inner.ok ? { ok: true, value: `${basic[1]}${Buffer.from(inner.value, 'latin1').toString('base64')}` } : inner;
      }
    }
    let failure: { ok: false; reason: string; held: boolean } | undefined;
    const replaced = value.replace(PLACEHOLDER, (placeholder) => {
      const held = this.byPlaceholder.get(placeholder);
      if (!held) {
        failure ??= { ok: false, reason: `${this.describe(placeholder)} may not be sent`, held: false };
      } else if (!held.hosts.some((pattern) => matchesHost(pattern, target.host, target.port))) {
        failure ??= { ok: false, reason: `secret "${held.name}" may only be sent to ${held.hostList}, not to ${target.host}:${target.port}`, held: true };
      }
      return held?.value ?? placeholder;
    });
    return failure ?? { ok: true, value: replaced };
  }

  private heldValueIn(texts: string[], body: Buffer): HeldSecret | undefined {
    for (const held of this.byPlaceholder.values()) {
      if (texts.some((text) => text.includes(held.value)) || body.includes(held.value)) return held;
    }
    return undefined;
  }

  private firstPlaceholder(text: string): string | undefined {
    PLACEHOLDER.lastIndex = 0;
    return PLACEHOLDER.exec(text)?.[0];
  }

  private describe(placeholder: string): string {
    const held = this.byPlaceholder.get(placeholder);
    if (held) return `secret "${held.name}"`;
    const name = /^capsule-secret-(.*)-[0-9a-f]{32}$/.exec(placeholder)?.[1];
    return `the placeholder of secret "${name}", which this task does not hold,`;
  }

  private where(placeholder: string): string {
    const held = this.byPlaceholder.get(placeholder);
    return held ? `it may only go in a request header to ${held.hostList}` : 'it is not one of this task\'s secrets';
  }
}

/**
 * Replaces needles in a byte stream. It holds back the last (longest needle − 1) bytes of what it has seen, so a
 * value split across chunks is still found; earlier bytes are passed on at once.
 */
class RedactingStream extends Transform {
  private pending = Buffer.alloc(0);
  private readonly keep: number;

  constructor(private readonly needles: readonly Needle[]) {
    super();
    this.keep = Math.max(0, ...needles.map((n) => n.bytes.length)) - 1;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const buffer = Buffer.concat([this.pending, chunk]);
    const { out, scanned } = this.replace(buffer);
    const holdFrom = Math.max(scanned, buffer.length - this.keep);
    this.pending = buffer.subarray(holdFrom);
    out.push(buffer.subarray(scanned, holdFrom));
    done(null, Buffer.concat(out));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pending);
  }

  /** Every complete match in `buffer`, replaced; `scanned` is where unmatched bytes begin. */
  private replace(buffer: Buffer): { out: Buffer[]; scanned: number } {
    const out: Buffer[] = [];
    let position = 0;
    for (;;) {
      let best: { index: number; needle: Needle } | undefined;
      for (const needle of this.needles) {
        const index = buffer.indexOf(needle.bytes, position);
        if (index >= 0 && (!best || index < best.index)) best = { index, needle };
      }
      if (!best) return { out, scanned: position };
      out.push(buffer.subarray(position, best.index), Buffer.from(best.needle.placeholder));
      position = best.index + best.needle.bytes.length;
    }
  }
}
