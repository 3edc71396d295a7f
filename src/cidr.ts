/**
 * What a network is, said once: the CIDR grammar (`10.1.0.0/16`, `2001:db8::/32`,
 * a single address) with one spelling per network, and matching client
 * addresses against a network with Node's BlockList.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';

export interface Cidr {
  /** As written back to the admin: `10.1.0.0/16`, `2001:db8::/32`. */
  text: string;
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `10.1.0.0/16`, `2001:db8::/32`, or a single address (a /32 or /128); a string says what is wrong. */
export function parseCidr(input: string): Cidr | string {
  const [address = '', prefixText, extra] = input.trim().toLowerCase().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined)
    return `${JSON.stringify(input)} is not a network: use a CIDR such as 192.168.10.0/24 or 2001:db8::/48.`;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `${JSON.stringify(input)} has a bad prefix length: use /0 to /${max}.`;
  const network = version === 4 ? maskIpv4(address, prefix) : canonicalIpv6(address);
  return { text: `${network}/${prefix}`, address: network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** `10.1.2.3/16` is the network `10.1.0.0/16`: one rule, one spelling. */
function maskIpv4(address: string, prefix: number): string {
  const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const masked = prefix === 0 ? 0 : value - (value % 2 ** (32 - prefix));
  return [24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.');
}

/** The WHATWG URL parser writes IPv6 addresses in their canonical compressed form (RFC 5952). */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** A compiled network rule: matches a client address. */
export interface NetworkMatcher {
  cidr: Cidr;
  matches(address: string): boolean;
}

/** IPv4-mapped IPv6 peers (`::ffff:10.0.0.5`) are the IPv4 address they carry; null for anything but an IP address. */
export function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const lower = address.toLowerCase();
  const mapped = lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
  const version = isIP(mapped);
  if (version === 0) return null;
  return { address: mapped, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The address last checked, parsed once: a client is checked against each rule in turn, and
 * BlockList would parse a string address again for every rule.
 */
let lastChecked: { address: string; family: 'ipv4' | 'ipv6'; parsed: SocketAddress } | null = null;

function parsedAddress(address: string, family: 'ipv4' | 'ipv6'): SocketAddress {
  if (lastChecked?.address !== address || lastChecked.family !== family) {
    lastChecked = { address, family, parsed: new SocketAddress({ address, family }) };
  }
  return lastChecked.parsed;
}

/** Compiles a CIDR into a matcher over Node's BlockList. */
export function networkMatcher(rule: Cidr): NetworkMatcher {
  const list = new BlockList();
  list.addSubnet(rule.address, rule.prefix, rule.family);
  return {
    cidr: rule,
    matches(address) {
      const peer = plainAddress(address);
      return peer !== null && peer.family === rule.family && list.check(parsedAddress(peer.address, peer.family));
    },
  };
}
