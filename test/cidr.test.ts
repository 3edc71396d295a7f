/** The CIDR grammar: which networks parse, how each is spelled, and which client addresses each contains. */
import { describe, expect, it } from 'vitest';
import { networkMatcher, parseCidr, type Cidr } from '../src/cidr.js';

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

describe('network rules', () => {
  it.each([
    ['127.0.0.0/8', '127.8.9.10', true],
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['127.0.0.0/8', '128.0.0.1', false],
    ['::1/128', '::1', true],
    ['::1/128', '0:0:0:0:0:0:0:1', true],
    ['10.1.0.0/16', '10.1.255.3', true],
    ['10.1.0.0/16', '10.2.0.1', false],
    ['10.1.0.0/16', '::ffff:10.1.2.3', true],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['2001:db8::/32', '2001:DB8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['10.0.0.0/8', 'not an address', false],
  ])('%s contains %s: %s', (rule, address, expected) => {
    expect(networkMatcher(cidr(rule)).matches(address)).toBe(expected);
  });

  it('answers for each client in turn when several rules check several clients', () => {
    const rules = ['10.1.0.0/16', '192.168.1.0/24', '2001:db8::/32'].map((text) => networkMatcher(cidr(text)));
    const clients = ['10.1.2.3', '192.168.1.9', '2001:db8::7', '10.2.0.1', '10.1.2.3', '::ffff:192.168.1.4'];
    expect(clients.map((address) => rules.map((rule) => rule.matches(address)))).toEqual([
      [true, false, false],
      [false, true, false],
      [false, false, true],
      [false, false, false],
      [true, false, false],
      [false, true, false],
    ]);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'lan', '10.0.0.0/8/8', '::1/129', '10.0.0.0/-1', ''])('refuses %j as a network', (text) => {
    expect(typeof parseCidr(text)).toBe('string');
  });
});

describe('network spelling', () => {
  it.each([
    ['10.1.2.3/16', '10.1.0.0/16'],
    ['10.1.2.3', '10.1.2.3/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.168.10.77/24', '192.168.10.0/24'],
    ['2001:0DB8:0000::/48', '2001:db8::/48'],
    ['::FFFF:10.0.0.1', '::ffff:a00:1/128'],
  ])('writes %s as %s', (input, text) => {
    expect((parseCidr(input) as Cidr).text).toBe(text);
  });
});
