/**
 * The one parser for hosts: allowedHosts patterns and secrets' hosts (validated with the task options), the
 * authority of every request the egress sees, and the addresses Capsule connects to or listens on. Both go through the WHATWG URL parser, so a pattern and a request
 * normalise the same way: letters lower-cased, IDNA names to punycode, trailing dots dropped, IPv4 in any notation
 * the parser accepts ("0x7f.1", "2130706433") to dotted decimal, IPv6 literals compressed ("[::1]").
 */
import { isIP } from 'node:net';

export interface HostPattern {
  /** "*.example.org": subdomains of `host`, never the apex. */
  wildcard: boolean;
  /** Normalised: "api.example.com", "127.0.0.1", "[::1]" (IPv6 keeps its brackets, as in URLs). */
  host: string;
  /** undefined: any port. */
  port: number | undefined;
  /** 4 or 6 for an IP literal, 0 for a name. */
  ipVersion: 0 | 4 | 6;
}

export interface RequestTarget {
  scheme: 'http' | 'https';
  /** Normalised as HostPattern.host. */
  host: string;
  /** Explicit, or the scheme's default. */
  port: number;
  ipVersion: 0 | 4 | 6;
  /** "/path?query", never empty. */
  pathWithQuery: string;
  /** scheme://host[:port]/path?query, with the port only when it is not the scheme's default. */
  url: string;
}

export type HostParse<T> = { ok: true; value: T } | { ok: false; expected: string };

export const HOST_PATTERN_EXPECTED =
  'a host such as "api.example.com", "*.example.org", "127.0.0.1:8080" or "[::1]:8080" (no scheme, path or user)';

const DEFAULT_PORTS = { http: 80, https: 443 } as const;
/** Characters that would make the URL parser read part of the text as something other than a host. */
const NOT_IN_A_HOST = /[/\\?#@\s%]/;

/** "[::1]:8080" -> ["[::1]", "8080"], "::1" -> ["::1", undefined], "a.b:80" -> ["a.b", "80"]. */
function splitPort(text: string): { host: string; port: string | undefined } | undefined {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    const rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    return { host: text.slice(0, end + 1), port: rest === '' ? undefined : rest.slice(1) };
  }
  if (isIP(text) === 6) return { host: `[${text}]`, port: undefined };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text, port: undefined };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function parsePort(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/** The WHATWG parser's host, without a trailing dot; undefined when it is not a host at all. */
function normaliseHost(host: string): string | undefined {
  if (host === '' || NOT_IN_A_HOST.test(host)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(`http://${host}/`);
  } catch {
    return undefined;
  }
  const normalised = parsed.hostname.replace(/\.$/, '');
  return normalised === '' || normalised.includes('..') ? undefined : normalised;
}

export function ipVersionOf(host: string): 0 | 4 | 6 {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return isIP(bare) as 0 | 4 | 6;
}

export function parseHostPattern(text: string): HostParse<HostPattern> {
  const fail = { ok: false as const, expected: HOST_PATTERN_EXPECTED };
  const wildcard = text.startsWith('*.');
  const split = splitPort(wildcard ? text.slice(2) : text);
  if (!split || split.host.includes('*')) return fail;
  const port = parsePort(split.port);
  const host = normaliseHost(split.host);
  if (port === null || host === undefined) return fail;
  const ipVersion = ipVersionOf(host);
  if (wildcard && ipVersion !== 0) return { ok: false, expected: 'a wildcard over a domain name ("*.example.org"), not over an IP address' };
  return { ok: true, value: { wildcard, host, port, ipVersion } };
}

/**
 * A server address, "HOST:PORT" (a name, an IPv4 address or a bracketed IPv6 one, and a port): where Capsule
 * connects (TEMPORAL_ADDRESS) or listens (`capsule mcp --http`). The host comes back as given, trailing dot aside.
 */
export function parseHostAndPort(text: string): HostParse<{ host: string; port: number }> {
  const fail = { ok: false as const, expected: 'HOST:PORT such as "127.0.0.1:7233", "temporal.example.com:7233" or "[::1]:7233"' };
  const split = splitPort(text);
  // Port 0 passes: a listener takes it as "any free port".
  if (split?.port === undefined || !/^\d{1,5}$/.test(split.port) || Number(split.port) > 65_535 || normaliseHost(split.host) === undefined) return fail;
  return { ok: true, value: { host: split.host.replace(/\.$/, ''), port: Number(split.port) } };
}

/** Parses a request's scheme, authority and path as the egress receives them from the guest. */
export function parseRequestTarget(scheme: string, authority: string, pathWithQuery: string): HostParse<RequestTarget> {
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, expected: `an http or https URL (got scheme "${scheme}")` };
  const split = splitPort(authority);
  const port = split ? parsePort(split.port) : null;
  const host = split ? normaliseHost(split.host) : undefined;
  if (!split || port === null || host === undefined) return { ok: false, expected: `a URL whose authority is a host and an optional port (got "${authority}")` };
  if (!pathWithQuery.startsWith('/') || /[\s#]/.test(pathWithQuery)) return { ok: false, expected: `a path starting with "/" (got "${pathWithQuery}")` };
  const effectivePort = port ?? DEFAULT_PORTS[scheme];
  const shownPort = effectivePort === DEFAULT_PORTS[scheme] ? '' : `:${effectivePort}`;
  return {
    ok: true,
    value: { scheme, host, port: effectivePort, ipVersion: ipVersionOf(host), pathWithQuery, url: `${scheme}://${host}${shownPort}${pathWithQuery}` },
  };
}

/** A redirect's Location, resolved against the URL it came from, as a target (or why it cannot be one). */
export function resolveLocation(location: string, base: string): HostParse<RequestTarget> {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    return { ok: false, expected: `a redirect Location that is a URL (got "${location}")` };
  }
  if (next.username || next.password) return { ok: false, expected: 'a redirect Location without user or password' };
  return parseRequestTarget(next.protocol.replace(/:$/, ''), next.host, `${next.pathname || '/'}${next.search}`);
}

export function matchesHost(pattern: HostPattern, host: string, port: number): boolean {
  if (pattern.port !== undefined && pattern.port !== port) return false;
  if (!pattern.wildcard) return pattern.host === host;
  return ipVersionOf(host) === 0 && host.endsWith(`.${pattern.host}`);
}

/** Every host:port `inner` matches, `outer` matches too (a narrowing must never widen). */
export function coversPattern(outer: HostPattern, inner: HostPattern): boolean {
  const shared = intersectPatterns(outer, inner);
  return shared !== undefined && samePattern(shared, inner);
}

/** The hosts and ports both patterns match, as one pattern, or undefined when they share none. */
export function intersectPatterns(a: HostPattern, b: HostPattern): HostPattern | undefined {
  if (a.port !== undefined && b.port !== undefined && a.port !== b.port) return undefined;
  const port = a.port ?? b.port;
  const host = intersectHosts(a, b);
  return host && { ...host, port };
}

function intersectHosts(a: HostPattern, b: HostPattern): HostPattern | undefined {
  const within = (name: HostPattern, wildcard: HostPattern) => name.ipVersion === 0 && name.host.endsWith(`.${wildcard.host}`);
  if (!a.wildcard && !b.wildcard) return a.host === b.host ? a : undefined;
  if (!a.wildcard) return within(a, b) ? a : undefined;
  if (!b.wildcard) return within(b, a) ? b : undefined;
  if (a.host === b.host || within(a, b)) return a;
  return within(b, a) ? b : undefined;
}

function samePattern(a: HostPattern, b: HostPattern): boolean {
  return a.wildcard === b.wildcard && a.host === b.host && a.port === b.port;
}

export function formatPattern(pattern: HostPattern): string {
  return `${pattern.wildcard ? '*.' : ''}${pattern.host}${pattern.port === undefined ? '' : `:${pattern.port}`}`;
}
