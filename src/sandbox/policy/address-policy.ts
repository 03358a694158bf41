/**
 * What kind of address an IP is, for the egress's second check: after a name passes the allowlist, every address
 * it resolves to (and every IP literal) must be public, or be named literally, with its port, in allowedHosts.
 * Ranges follow the IANA special-purpose registries; addresses that embed an IPv4 address (NAT64, 6to4) are judged
 * by the IPv4 address inside, and IPv4-mapped IPv6 is refused outright (it reaches IPv4 hosts by another spelling).
 */
import { isIP } from 'node:net';

export type AddressKind =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'unique-local'
  | 'multicast'
  | 'IPv4-mapped IPv6'
  | 'reserved';

interface Range {
  base: bigint;
  bits: number;
  kind: AddressKind;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** "::ffff:1.2.3.4", "fe80::1%eth0" and friends -> 128-bit value. */
function ipv6ToBigInt(address: string): bigint {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

const v4 = (cidr: string, kind: AddressKind): Range => {
  const [base, bits] = cidr.split('/') as [string, string];
  return { base: ipv4ToBigInt(base), bits: Number(bits), kind };
};
const v6 = (cidr: string, kind: AddressKind): Range => {
  const [base, bits] = cidr.split('/') as [string, string];
  return { base: ipv6ToBigInt(base), bits: Number(bits), kind };
};

const IPV4_RANGES: Range[] = [
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared (CGNAT)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'reserved'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'),
  v4('198.51.100.0/24', 'reserved'),
  v4('203.0.113.0/24', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

const IPV6_RANGES: Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('::ffff:0:0/96', 'IPv4-mapped IPv6'),
  // IPv4-compatible (deprecated): ::a.b.c.d reaches an IPv4 host too.
  v6('::/96', 'IPv4-mapped IPv6'),
  v6('64:ff9b:1::/48', 'private'),
  v6('100::/64', 'reserved'),
  v6('2001::/23', 'reserved'),
  v6('2001:db8::/32', 'reserved'),
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'private'),
  v6('ff00::/8', 'multicast'),
];
const NAT64 = v6('64:ff9b::/96', 'public');
const SIX_TO_FOUR = v6('2002::/16', 'public');

function inRange(value: bigint, range: Range, width: number): boolean {
  const shift = BigInt(width - range.bits);
  return value >> shift === range.base >> shift;
}

function classifyV4(value: bigint): AddressKind {
  return IPV4_RANGES.find((range) => inRange(value, range, 32))?.kind ?? 'public';
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** The kind of an IP address (with or without IPv6 brackets). A string that is not an IP is 'reserved'. */
export function classifyAddress(address: string): AddressKind {
  const bare = address.startsWith('[') ? address.slice(1, -1) : address;
  const version = isIP(bare.replace(/%.*$/, ''));
  if (version === 4) return classifyV4(ipv4ToBigInt(bare));
  if (version !== 6) return 'reserved';
  const value = ipv6ToBigInt(bare);
  const special = IPV6_RANGES.find((range) => inRange(value, range, 128));
  if (special) return special.kind;
  if (inRange(value, NAT64, 128)) return classifyV4(value & 0xffffffffn);
  if (inRange(value, SIX_TO_FOUR, 128)) return classifyV4((value >> 80n) & 0xffffffffn);
  return 'public';
}

/** The IPv4 address an IPv6 one embeds and reaches (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const bare = address.startsWith('[') ? address.slice(1, -1) : address;
  if (isIP(bare.replace(/%.*$/, '')) !== 6) return undefined;
  const value = ipv6ToBigInt(bare);
  if (value >> 32n === 0xffffn || (value >> 32n === 0n && value > 1n)) return bigIntToIpv4(value & 0xffffffffn);
  if (inRange(value, NAT64, 128)) return bigIntToIpv4(value & 0xffffffffn);
  if (inRange(value, SIX_TO_FOUR, 128)) return bigIntToIpv4((value >> 80n) & 0xffffffffn);
  return undefined;
}

/** One spelling per address: "127.0.0.1", "[::1]" (the URL parser's), so literal grants compare exactly. */
export function canonicalAddress(address: string): string {
  const bare = address.startsWith('[') ? address.slice(1, -1) : address;
  return isIP(bare) === 6 ? new URL(`http://[${bare}]/`).hostname : new URL(`http://${bare}/`).hostname;
}
