import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccess } from '../../src/relay/access.js';
import { allowFromList, fromAllowed, networkMatcher, parseCidr, type Cidr } from '../../src/store/access-schemas.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

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

  it.each(['10.0.0.0/33', '10.0.0/8', 'lan', '10.0.0.0/8/8', '::1/129', '10.0.0.0/-1', ''])('refuses %j as a network', (text) => {
    expect(typeof parseCidr(text)).toBe('string');
  });
});

describe('allowed From lists', () => {
  it('parses addresses and @domains separated by commas, spaces or lines, lower-cased', () => {
    expect(allowFromList.parse(' Scans@Contoso.test,\n@Fabrikam.test  scans@contoso.test')).toEqual([
      'scans@contoso.test',
      '@fabrikam.test',
    ]);
    expect(allowFromList.parse('')).toEqual([]);
    expect(allowFromList.safeParse('not-an-address').success).toBe(false);
    expect(allowFromList.safeParse('@').success).toBe(false);
  });

  it.each([
    [[], 'anyone@anywhere.test', true],
    [['scans@contoso.test'], 'SCANS@contoso.test', true],
    [['scans@contoso.test'], 'other@contoso.test', false],
    [['@contoso.test'], 'anyone@contoso.test', true],
    [['@contoso.test'], 'anyone@sub.contoso.test', false],
    [['@contoso.test'], 'anyone@evilcontoso.test', false],
    [['@contoso.test'], '', false],
  ])('%j allows %j: %s', (list, address, expected) => {
    expect(fromAllowed(list, address)).toBe(expected);
  });
});

describe('routing', () => {
  let fx: Fixture;
  beforeEach(() => {
    fx = createFixture({ RELAY365_RELAY_NETWORKS: '127.0.0.0/8,::1/128' });
  });
  afterEach(() => fx.cleanup());

  it('sends a relay user to its server, else the most specific network to its server, else nowhere', () => {
    const main = fx.store.servers.add(plainServer({ name: 'main' }));
    const scanners = fx.store.servers.add(plainServer({ name: 'scanners' }));
    const erp = fx.store.servers.add(plainServer({ name: 'erp' }));
    fx.store.networks.add(cidr('127.0.0.0/16'), scanners.id);
    fx.store.networks.add(cidr('127.0.5.0/24'), erp.id);
    const user = fx.store.relayUsers.add({ name: 'printer', passwordHash: 'x', serverId: erp.id, allowFrom: ['@contoso.test'] });
    const access = createAccess({ config: fx.config, store: fx.store });

    expect(access.route('127.9.0.1', null)).toMatchObject({ serverId: main.id, label: 'network 127.0.0.0/8 (RELAY365_RELAY_NETWORKS)' });
    expect(access.route('127.0.9.1', null)).toMatchObject({ serverId: scanners.id, label: 'network 127.0.0.0/16' });
    expect(access.route('::ffff:127.0.5.5', null)).toMatchObject({ serverId: erp.id, label: 'network 127.0.5.0/24' });
    expect(access.route('10.0.0.1', null)).toBeNull();
    expect(access.route('10.0.0.1', { id: user.id, name: user.name })).toEqual({
      serverId: erp.id,
      label: 'relay user printer',
      relayUser: { id: user.id, name: 'printer', allowFrom: ['@contoso.test'] },
    });
    fx.store.relayUsers.update(user.id, { disabled: true });
    expect(access.route('10.0.0.1', { id: user.id, name: user.name })).toBeNull();
  });

  it('lets no network relay without AUTH when RELAY365_RELAY_NETWORKS is empty', () => {
    const empty = createFixture({ RELAY365_RELAY_NETWORKS: '' });
    try {
      empty.store.servers.add(plainServer());
      expect(createAccess({ config: empty.config, store: empty.store }).route('127.0.0.1', null)).toBeNull();
    } finally {
      empty.cleanup();
    }
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
