/**
 * Which hosts and addresses a guest may reach. Two checks, both made by the egress for every request and every
 * redirect hop: the name against allowedHosts ("api.example.com" any port, "*.example.org" subdomains only,
 * "api.example.com:8443" that port only), then each address the name resolves to (or the IP literal): public
 * addresses pass; loopback, private, link-local, CGNAT, unique-local, multicast, unspecified, IPv4-mapped and
 * reserved ones pass only when allowedHosts names that address literally, with the port ("127.0.0.1:8080",
 * "[::1]:8080"). A name is never enough to reach the inside of the network: it could resolve anywhere.
 */
import { matchesHost, parseHostPattern, type HostPattern, type RequestTarget } from '../../config/host-pattern.js';
import { canonicalAddress, classifyAddress } from './address-policy.js';

export type NetworkDecision = { ok: true } | { ok: false; reason: string };

export class NetworkPolicy {
  private readonly patterns: HostPattern[];
  /** "address:port" for every literal IP entry with a port: the only way to a non-public address. */
  private readonly literalGrants: Set<string>;

  constructor(private readonly allowedHosts: readonly string[]) {
    this.patterns = allowedHosts.flatMap((text) => {
      const parsed = parseHostPattern(text);
      return parsed.ok ? [parsed.value] : [];
    });
    this.literalGrants = new Set(this.patterns.filter((p) => p.ipVersion !== 0 && p.port !== undefined).map((p) => `${p.host}:${p.port}`));
  }

  get enabled(): boolean {
    return this.patterns.length > 0;
  }

  /** The name (or IP literal) and port against allowedHosts. */
  checkHost(target: RequestTarget): NetworkDecision {
    if (!this.enabled) return { ok: false, reason: 'the task has no allowedHosts: network access is off' };
    if (this.patterns.some((p) => matchesHost(p, target.host, target.port))) return { ok: true };
    return { ok: false, reason: `host "${hostAndPort(target)}" is not in allowedHosts (${this.allowedHosts.join(', ')})` };
  }

  /** An address the request would connect to (resolved by the egress, or the literal itself). */
  checkAddress(target: RequestTarget, address: string): NetworkDecision {
    const kind = classifyAddress(address);
    if (kind === 'public') return { ok: true };
    const literal = `${canonicalAddress(address)}:${target.port}`;
    if (kind !== 'unspecified' && this.literalGrants.has(literal)) return { ok: true };
    const via = target.ipVersion === 0 ? `"${target.host}" resolves to ${address}, ` : `${address} is `;
    const remedy = kind === 'unspecified' ? 'it is never reachable' : `only an allowedHosts entry naming "${literal}" literally allows it`;
    return { ok: false, reason: `${via}${article(kind)} ${kind} address: ${remedy}` };
  }
}

function hostAndPort(target: RequestTarget): string {
  return `${target.host}:${target.port}`;
}

function article(kind: string): string {
  return /^[aeiouIU]/.test(kind) && !kind.startsWith('uni') ? 'an' : 'a';
}
