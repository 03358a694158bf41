import { describe, expect, it } from 'vitest';
import { coversPattern, formatPattern, intersectPatterns, matchesHost, parseHostAndPort, parseHostPattern, parseRequestTarget, resolveLocation, type HostPattern } from '../../src/config/host-pattern.js';
import { canonicalAddress, classifyAddress } from '../../src/sandbox/policy/address-policy.js';

const pattern = (text: string): HostPattern => {
  const parsed = parseHostPattern(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.expected}`);
  return parsed.value;
};
const target = (url: string) => {
  const u = new URL(url);
  const parsed = parseRequestTarget(u.protocol.slice(0, -1), u.host, `${u.pathname}${u.search}`);
  if (!parsed.ok) throw new Error(parsed.expected);
  return parsed.value;
};

describe('host patterns', () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM.', 'api.example.com'],
    ['*.example.org:8443', '*.example.org:8443'],
    ['127.0.0.1:8080', '127.0.0.1:8080'],
    ['0x7f.1:80', '127.0.0.1:80'],
    ['2130706433', '127.0.0.1'],
    ['[::1]:8080', '[::1]:8080'],
    ['::1', '[::1]'],
    ['[0:0:0:0:0:ffff:7f00:1]', '[::ffff:7f00:1]'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('normalises %s to %s', (text, normalised) => {
    expect(formatPattern(pattern(text))).toBe(normalised);
  });

  it.each(['https://api.example.com', 'api.example.com/v1', 'user@api.example.com', 'api.example.com:0', 'api.example.com:65536', 'a..b', '*.*.example.org', '*.10.0.0.1', '[::1', 'a b', 'api.example.com:', ''])('refuses %j', (text) => {
    expect(parseHostPattern(text).ok).toBe(false);
  });

  it('matches names, wildcards (never the apex) and ports', () => {
    expect(matchesHost(pattern('api.example.com'), 'api.example.com', 8443)).toBe(true);
    expect(matchesHost(pattern('api.example.com:443'), 'api.example.com', 80)).toBe(false);
    expect(matchesHost(pattern('*.example.org'), 'a.b.example.org', 443)).toBe(true);
    expect(matchesHost(pattern('*.example.org'), 'example.org', 443)).toBe(false);
    expect(matchesHost(pattern('*.example.org'), 'evilexample.org', 443)).toBe(false);
  });

  it('intersects and covers patterns (the narrowing rule)', () => {
    const meet = (a: string, b: string) => { const m = intersectPatterns(pattern(a), pattern(b)); return m && formatPattern(m); };
    expect(meet('*.example.org', 'api.example.org:443')).toBe('api.example.org:443');
    expect(meet('*.example.org:443', 'api.example.org')).toBe('api.example.org:443');
    expect(meet('*.example.org', '*.a.example.org')).toBe('*.a.example.org');
    expect(meet('a.example.org:80', 'a.example.org:443')).toBeUndefined();
    expect(meet('a.example.org', 'b.example.org')).toBeUndefined();
    expect(coversPattern(pattern('*.example.org'), pattern('x.example.org:1'))).toBe(true);
    expect(coversPattern(pattern('x.example.org:1'), pattern('x.example.org'))).toBe(false);
  });
});

describe('request targets', () => {
  it('normalises what the guest sent, with the scheme\'s default port', () => {
    expect(target('http://API.test.:80/a?b=1')).toMatchObject({ host: 'api.test', port: 80, url: 'http://api.test/a?b=1' });
    expect(target('https://[::1]:8443/')).toMatchObject({ host: '[::1]', port: 8443, ipVersion: 6, url: 'https://[::1]:8443/' });
    expect(parseRequestTarget('ftp', 'a.test', '/').ok).toBe(false);
    expect(parseRequestTarget('http', 'a.test@evil.test', '/').ok).toBe(false);
    expect(parseRequestTarget('http', 'a.test', 'evil.test/').ok).toBe(false);
  });

  it('resolves redirect locations against the URL they came from', () => {
    expect(resolveLocation('/next?x', 'http://a.test/path')).toMatchObject({ ok: true, value: { url: 'http://a.test/next?x' } });
    expect(resolveLocation('https://b.test:8443/', 'http://a.test/')).toMatchObject({ ok: true, value: { host: 'b.test', port: 8443 } });
    expect(resolveLocation('http://user:pw@b.test/', 'http://a.test/').ok).toBe(false);
    expect(resolveLocation('file:///etc/passwd', 'http://a.test/').ok).toBe(false);
  });
});

describe('addresses', () => {
  it.each([
    ['8.8.8.8', 'public'], ['127.0.0.5', 'loopback'], ['10.1.2.3', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'],
    ['192.168.0.1', 'private'], ['169.254.169.254', 'link-local'], ['100.64.0.1', 'shared (CGNAT)'], ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'], ['224.0.0.251', 'multicast'], ['255.255.255.255', 'reserved'], ['192.0.2.1', 'reserved'],
    ['2606:4700::1111', 'public'], ['::1', 'loopback'], ['::', 'unspecified'], ['fd12::1', 'unique-local'], ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'], ['::ffff:8.8.8.8', 'IPv4-mapped IPv6'], ['::ffff:127.0.0.1', 'IPv4-mapped IPv6'], ['::7f00:1', 'IPv4-mapped IPv6'],
    ['64:ff9b::808:808', 'public'], ['64:ff9b::a00:1', 'private'], ['2002:7f00:1::', 'loopback'], ['2001:db8::1', 'reserved'], ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('has one spelling per address', () => {
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('[::1]');
    expect(canonicalAddress('[::1]')).toBe('[::1]');
    expect(canonicalAddress('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('server addresses (HOST:PORT)', () => {
  it.each([
    ['127.0.0.1:7233', '127.0.0.1', 7233],
    ['temporal.example.com:7233', 'temporal.example.com', 7233],
    ['my-ns.a1b2c.tmprl.cloud:7233', 'my-ns.a1b2c.tmprl.cloud', 7233],
    ['[::1]:7233', '[::1]', 7233],
    ['[2001:db8::1]:443', '[2001:db8::1]', 443],
    ['localhost:0', 'localhost', 0],
  ])('reads %s', (text, host, port) => {
    expect(parseHostAndPort(text)).toEqual({ ok: true, value: { host, port } });
  });

  it.each(['127.0.0.1', '::1:7233', '2001:db8::1', 'host:99999', 'host:port', 'http://host:7233', 'a b:80', ':7233', '[::1]'])('refuses %s', (text) => {
    expect(parseHostAndPort(text).ok).toBe(false);
  });
});
