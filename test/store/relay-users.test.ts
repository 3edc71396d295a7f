/**
 * Relay users as stored, on both engines: names unique and found whatever
 * their case, the allowed From list, partial changes, the last login, and the
 * users an email server still has.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import type { NewRelayUser } from '../../src/store/relay-users.js';
import { isUniqueViolation } from '../../src/store/unique-violation.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  let serverId: number;
  const relayUser = (name: string, overrides: Partial<NewRelayUser> = {}): NewRelayUser => ({
    name,
    passwordHash: `hash of ${name}`,
    serverId,
    allowFrom: [],
    ...overrides,
  });
  beforeEach(async () => {
    s = await openAccessStore(engine);
    serverId = await s.addServer('office365');
  });
  afterEach(() => s.cleanup());

  it('adds a relay user and finds it by id and by name in any case, trimmed', async () => {
    const { relayUsers } = s.store;
    const added = await relayUsers.add(relayUser('Scanner', { allowFrom: ['scanner@contoso.test', '@fabrikam.test'] }));
    expect(added).toEqual({
      id: expect.any(Number),
      name: 'Scanner',
      serverId,
      allowFrom: ['scanner@contoso.test', '@fabrikam.test'],
      disabled: false,
      lastUsedAt: null,
      createdAt: T0,
      updatedAt: T0,
    });
    expect(await relayUsers.get(added.id)).toEqual(added);
    expect(await relayUsers.findByName(' sCANNER ')).toEqual(added);
    expect(await relayUsers.get(added.id + 1)).toBeUndefined();
    expect(await relayUsers.findByName('printer')).toBeUndefined();
  });

  it('adds a disabled user with an empty allowed From list', async () => {
    const added = await s.store.relayUsers.add(relayUser('printer', { disabled: true }));
    expect(added).toMatchObject({ allowFrom: [], disabled: true });
  });

  it('refuses a second user with the same name in another case, as a unique violation', async () => {
    await s.store.relayUsers.add(relayUser('scanner'));
    const refused = await s.store.relayUsers.add(relayUser('SCANNER')).catch((err: unknown) => err);
    expect(isUniqueViolation(refused)).toBe(true);
    expect(await s.store.relayUsers.list()).toHaveLength(1);
  });

  it('lists users by name whatever its case, and names a server’s users in that order', async () => {
    const { relayUsers } = s.store;
    const other = await s.addServer('gmail');
    await relayUsers.add(relayUser('printer'));
    await relayUsers.add(relayUser('Copier', { serverId: other }));
    await relayUsers.add(relayUser('app'));
    await relayUsers.add(relayUser('Backup'));
    expect((await relayUsers.list()).map((u) => u.name)).toEqual(['app', 'Backup', 'Copier', 'printer']);
    expect(await relayUsers.namesForServer(serverId)).toEqual(['app', 'Backup', 'printer']);
    expect(await relayUsers.namesForServer(other)).toEqual(['Copier']);
    expect(await relayUsers.namesForServer(other + 1)).toEqual([]);
  });

  it('gives the stored password hash for the login check only, null for an unknown user', async () => {
    const { id } = await s.store.relayUsers.add(relayUser('scanner'));
    expect(await s.store.relayUsers.passwordHash(id)).toBe('hash of scanner');
    expect(await s.store.relayUsers.passwordHash(id + 1)).toBeNull();
  });

  it('changes only what is named, clearing the allowed From list with an empty one', async () => {
    const { relayUsers } = s.store;
    const other = await s.addServer('gmail');
    const { id } = await relayUsers.add(relayUser('scanner', { allowFrom: ['scanner@contoso.test'] }));
    s.clock.now = T0 + 1_000;
    expect(await relayUsers.update(id, { passwordHash: 'new hash' })).toMatchObject({
      serverId,
      allowFrom: ['scanner@contoso.test'],
      disabled: false,
      createdAt: T0,
      updatedAt: T0 + 1_000,
    });
    expect(await relayUsers.passwordHash(id)).toBe('new hash');
    expect(await relayUsers.update(id, { serverId: other, disabled: true })).toMatchObject({
      serverId: other,
      allowFrom: ['scanner@contoso.test'],
      disabled: true,
    });
    expect(await relayUsers.update(id, { allowFrom: ['a@contoso.test', 'b@contoso.test'] })).toMatchObject({
      allowFrom: ['a@contoso.test', 'b@contoso.test'],
      disabled: true,
    });
    expect(await relayUsers.update(id, { allowFrom: [], disabled: false })).toMatchObject({
      serverId: other,
      allowFrom: [],
      disabled: false,
    });
    expect(await relayUsers.passwordHash(id)).toBe('new hash');
    await expect(relayUsers.update(id + 1, { disabled: true })).rejects.toThrow(`no relay user with id ${id + 1}`);
  });

  it('records the last login', async () => {
    const { id } = await s.store.relayUsers.add(relayUser('scanner'));
    await s.store.relayUsers.touch(id, T0 + 5_000);
    expect(await s.store.relayUsers.get(id)).toMatchObject({ lastUsedAt: T0 + 5_000, updatedAt: T0 });
  });

  it('removes a user, saying whether there was one', async () => {
    const { id } = await s.store.relayUsers.add(relayUser('scanner'));
    expect(await s.store.relayUsers.remove(id)).toBe(true);
    expect(await s.store.relayUsers.remove(id)).toBe(false);
    expect(await s.store.relayUsers.findByName('scanner')).toBeUndefined();
    expect(await s.store.relayUsers.namesForServer(serverId)).toEqual([]);
  });
});
