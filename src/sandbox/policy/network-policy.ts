/**
 * Which hosts a guest may reach. Patterns come from allowedHosts: "api.example.com" (any port), "*.example.org"
 * (subdomains only, not the apex), "127.0.0.1:8080" (that port only). The check is by name at request time;
 * resolving and pinning addresses (SSRF protection) belongs in the network edge this class will sit behind.
 */
export type NetworkDecision = { ok: true } | { ok: false; reason: string };

interface HostPattern {
  wildcard: boolean;
  host: string;
  port: string | undefined;
}

function parsePattern(pattern: string): HostPattern {
  const lower = pattern.toLowerCase();
  const wildcard = lower.startsWith('*.');
  const body = wildcard ? lower.slice(2) : lower;
  const [host, port] = body.split(':') as [string, string | undefined];
  return { wildcard, host, port };
}

export class NetworkPolicy {
  private readonly patterns: HostPattern[];

  constructor(private readonly allowedHosts: string[]) {
    this.patterns = allowedHosts.map(parsePattern);
  }

  check(scheme: string, authority: string): NetworkDecision {
    if (scheme !== 'http' && scheme !== 'https') return { ok: false, reason: `scheme "${scheme}" is not allowed (http and https only)` };
    if (this.patterns.length === 0) return { ok: false, reason: 'the task has no allowedHosts: network access is off' };
    const [rawHost, rawPort] = authority.toLowerCase().split(':') as [string, string | undefined];
    const port = rawPort ?? (scheme === 'https' ? '443' : '80');
    const match = this.patterns.some((p) => {
      const hostMatches = p.wildcard ? rawHost.endsWith(`.${p.host}`) : rawHost === p.host;
      return hostMatches && (p.port === undefined || p.port === port);
    });
    return match ? { ok: true } : { ok: false, reason: `host "${authority}" is not in allowedHosts (${this.allowedHosts.join(', ')})` };
  }
}
