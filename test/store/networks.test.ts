/**
 * Allowed networks as stored, on both engines: one rule per CIDR, listed in
 * the order they were added, and the rules an email server still has.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { isUniqueViolation } from '../../src/store/unique-violation.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  let serverId: number;
  beforeEach(async () => {
    s = await openAccessStore(engine);
    serverId = await s.addServer('office365');
  });
  afterEach(() => s.cleanup());

  it('adds a rule and finds it by its CIDR', async () => {
    const { networks } = s.store;
    const rule = await networks.add(cidr('192.168.10.0/24'), serverId);
    expect(rule).toEqual({ id: expect.any(Number), cidr: '192.168.10.0/24', serverId, createdAt: T0 });
    expect(await networks.findByCidr(cidr('192.168.10.0/24'))).toEqual(rule);
    expect(await networks.findByCidr(cidr('192.168.11.0/24'))).toBeUndefined();
  });

  it('refuses a second rule for the same network, as a unique violation', async () => {
    const other = await s.addServer('gmail');
    await s.store.networks.add(cidr('2001:db8::/32'), serverId);
    const refused = await s.store.networks.add(cidr('2001:db8::/32'), other).catch((err: unknown) => err);
    expect(isUniqueViolation(refused)).toBe(true);
    expect(await s.store.networks.list()).toHaveLength(1);
  });

  it('lists rules in the order they were added, and names a server’s rules in that order', async () => {
    const { networks } = s.store;
    const other = await s.addServer('gmail');
    await networks.add(cidr('10.0.0.0/8'), serverId);
    await networks.add(cidr('192.168.1.0/24'), other);
    await networks.add(cidr('172.16.0.0/12'), serverId);
    expect((await networks.list()).map((r) => [r.cidr, r.serverId])).toEqual([
      ['10.0.0.0/8', serverId],
      ['192.168.1.0/24', other],
      ['172.16.0.0/12', serverId],
    ]);
    expect(await networks.cidrsForServer(serverId)).toEqual(['10.0.0.0/8', '172.16.0.0/12']);
    expect(await networks.cidrsForServer(other)).toEqual(['192.168.1.0/24']);
    expect(await networks.cidrsForServer(other + 1)).toEqual([]);
  });

  it('removes a rule by its CIDR, saying whether there was one', async () => {
    const { networks } = s.store;
    await networks.add(cidr('10.0.0.0/8'), serverId);
    await networks.add(cidr('10.1.0.0/16'), serverId);
    expect(await networks.remove(cidr('10.0.0.0/8'))).toBe(true);
    expect(await networks.remove(cidr('10.0.0.0/8'))).toBe(false);
    expect((await networks.list()).map((r) => r.cidr)).toEqual(['10.1.0.0/16']);
  });
});
