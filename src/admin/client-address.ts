/**
 * The client's address for the panel's and the API's throttles and logs.
 * It is the socket's peer, unless that peer is one of RELAY365_TRUSTED_PROXIES:
 * then `X-Forwarded-For` is believed, read from the right (each proxy appends
 * the address it saw) up to the first address that is not itself a trusted
 * proxy. Addresses further left came from the client and could say anything.
 * Under `app.request()` there is no socket unless the test gives one.
 */
import { BlockList } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { plainAddress, type Cidr } from '../cidr.js';

/** Reads the client address of a panel or API request. */
export type ClientAddressOf = <E extends { Bindings: Partial<HttpBindings> }>(c: Context<E>) => string;

/** One `X-Forwarded-For` entry as an address: `203.0.113.7`, `203.0.113.7:5050`, `[2001:db8::7]:443`, `2001:db8::7`. */
function forwardedAddress(entry: string): string | null {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text)?.[1];
  return plainAddress(bracketed ?? withPort ?? text)?.address ?? null;
}

/** Creates the reader for the proxies trusted by configuration (none: the socket's peer is always the client). */
export function createClientAddress(trustedProxies: readonly Cidr[]): ClientAddressOf {
  const trusted = new BlockList();
  for (const cidr of trustedProxies) trusted.addSubnet(cidr.address, cidr.prefix, cidr.family);
  const isTrusted = (address: string): boolean => {
    const plain = plainAddress(address);
    return plain !== null && trusted.check(plain.address, plain.family);
  };

  return (c) => {
    const peer = c.env?.incoming?.socket?.remoteAddress;
    if (peer === undefined) return 'unknown';
    let client = plainAddress(peer)?.address ?? peer;
    if (trustedProxies.length === 0 || !isTrusted(client)) return client;
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = forwardedAddress(hops[i] as string);
      // An entry that is no address ends the chain: the nearest proxy that wrote a good one is the best we know.
      if (hop === null) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
}
