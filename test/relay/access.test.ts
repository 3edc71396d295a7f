import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { createAccess } from '../../src/relay/access.js';
import { allowFromList, fromAllowed } from '../../src/store/access-schemas.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

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

  it('sends a relay user to its server, else the most specific network to its server, else nowhere', async () => {
    const main = fx.store.sync.servers.add(plainServer({ name: 'main' }));
    const scanners = fx.store.sync.servers.add(plainServer({ name: 'scanners' }));
    const erp = fx.store.sync.servers.add(plainServer({ name: 'erp' }));
    fx.store.sync.networks.add(cidr('127.0.0.0/16'), scanners.id);
    fx.store.sync.networks.add(cidr('127.0.5.0/24'), erp.id);
    const user = fx.store.sync.relayUsers.add({ name: 'printer', passwordHash: 'x', serverId: erp.id, allowFrom: ['@contoso.test'] });
    const access = createAccess({ config: fx.config, store: fx.store });

    expect(await access.route('127.9.0.1', null)).toMatchObject({
      serverId: main.id,
      label: 'network 127.0.0.0/8 (RELAY365_RELAY_NETWORKS)',
    });
    expect(await access.route('127.0.9.1', null)).toMatchObject({ serverId: scanners.id, label: 'network 127.0.0.0/16' });
    expect(await access.route('::ffff:127.0.5.5', null)).toMatchObject({ serverId: erp.id, label: 'network 127.0.5.0/24' });
    expect(await access.route('10.0.0.1', null)).toBeNull();
    expect(await access.route('10.0.0.1', { id: user.id, name: user.name })).toEqual({
      serverId: erp.id,
      label: 'relay user printer',
      relayUser: { id: user.id, name: 'printer', allowFrom: ['@contoso.test'] },
    });
    fx.store.sync.relayUsers.update(user.id, { disabled: true });
    expect(await access.route('10.0.0.1', { id: user.id, name: user.name })).toBeNull();
  });

  it('lets no network relay without AUTH when RELAY365_RELAY_NETWORKS is empty', async () => {
    const empty = createFixture({ RELAY365_RELAY_NETWORKS: '' });
    try {
      empty.store.sync.servers.add(plainServer());
      expect(await createAccess({ config: empty.config, store: empty.store }).route('127.0.0.1', null)).toBeNull();
    } finally {
      empty.cleanup();
    }
  });
});
