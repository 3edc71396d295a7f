/**
 * Admin panel users and setup tokens as stored, on both engines: emails
 * unique and found whatever their case, permissions changed one at a time, a
 * new password ending the other sessions, and a setup token that works once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import { isUniqueViolation } from '../../src/store/unique-violation.js';
import type { NewUser } from '../../src/store/users.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

const HOUR = 60 * 60_000;

const newUser = (email: string, overrides: Partial<NewUser> = {}): NewUser => ({
  email,
  passwordHash: `hash of ${email}`,
  isSuperAdmin: false,
  canUpdateSettings: false,
  ...overrides,
});

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  beforeEach(async () => {
    s = await openAccessStore(engine);
  });
  afterEach(() => s.cleanup());

  describe('users', () => {
    it('adds a user with its permissions and finds it by id and by email in any case, trimmed', async () => {
      const { users } = s.store;
      const added = await users.add(newUser(' Admin@Contoso.test ', { isSuperAdmin: true, canUpdateSettings: true }));
      expect(added).toEqual({
        id: expect.any(Number),
        email: 'Admin@Contoso.test',
        isSuperAdmin: true,
        canUpdateSettings: true,
        createdAt: T0,
      });
      expect(await users.get(added.id)).toEqual(added);
      expect(await users.findByEmail('  admin@CONTOSO.test')).toEqual(added);
      expect(await users.get(added.id + 1)).toBeUndefined();
      expect(await users.findByEmail('other@contoso.test')).toBeUndefined();
    });

    it('refuses a second user with the same email in another case, as a unique violation', async () => {
      await s.store.users.add(newUser('admin@contoso.test'));
      const refused = await s.store.users.add(newUser('ADMIN@contoso.test')).catch((err: unknown) => err);
      expect(isUniqueViolation(refused)).toBe(true);
      expect(await s.store.users.count()).toBe(1);
    });

    it('counts and lists users by email whatever its case, and counts the Super Admins', async () => {
      const { users } = s.store;
      expect(await users.count()).toBe(0);
      expect(await users.list()).toEqual([]);
      await users.add(newUser('bob@contoso.test', { isSuperAdmin: true }));
      await users.add(newUser('Alice@contoso.test'));
      await users.add(newUser('carol@contoso.test', { isSuperAdmin: true }));
      expect((await users.list()).map((u) => u.email)).toEqual(['Alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test']);
      expect(await users.count()).toBe(3);
      expect(await users.countSuperAdmins()).toBe(2);
    });

    it('gives the stored password hash for the login check only, null for an unknown user', async () => {
      const { id } = await s.store.users.add(newUser('admin@contoso.test'));
      expect(await s.store.users.passwordHash(id)).toBe('hash of admin@contoso.test');
      expect(await s.store.users.passwordHash(id + 1)).toBeNull();
    });

    it('changes only the permissions named, and refuses an unknown user', async () => {
      const { users } = s.store;
      const { id } = await users.add(newUser('admin@contoso.test', { canUpdateSettings: true }));
      expect(await users.update(id, { isSuperAdmin: true })).toMatchObject({ isSuperAdmin: true, canUpdateSettings: true });
      expect(await users.update(id, { canUpdateSettings: false })).toMatchObject({ isSuperAdmin: true, canUpdateSettings: false });
      expect(await users.update(id, {})).toMatchObject({ isSuperAdmin: true, canUpdateSettings: false });
      expect(await users.passwordHash(id)).toBe('hash of admin@contoso.test');
      await expect(users.update(id + 1, { isSuperAdmin: true })).rejects.toThrow(`no user with id ${id + 1}`);
    });

    it('sets a new password and ends every other session of the user, keeping the one named', async () => {
      const { users, sessions } = s.store;
      const { id } = await users.add(newUser('admin@contoso.test'));
      const other = await users.add(newUser('other@contoso.test'));
      const [mine, second, third] = [await sessions.create(id), await sessions.create(id), await sessions.create(id)];
      const theirs = await sessions.create(other.id);
      expect(await users.setPassword(id, 'new hash', mine.session.idHash)).toBe(2);
      expect(await users.passwordHash(id)).toBe('new hash');
      expect(await sessions.touch(mine.id)).toBeDefined();
      expect(await sessions.touch(second.id)).toBeUndefined();
      expect(await sessions.touch(third.id)).toBeUndefined();
      expect(await sessions.touch(theirs.id)).toBeDefined();
      // Null keeps none (a password reset by another admin).
      expect(await users.setPassword(id, 'newer hash', null)).toBe(1);
      expect(await sessions.touch(mine.id)).toBeUndefined();
    });

    it('removes a user with its sessions', async () => {
      const { users, sessions } = s.store;
      const { id } = await users.add(newUser('admin@contoso.test'));
      const session = await sessions.create(id);
      await users.remove(id);
      expect(await users.get(id)).toBeUndefined();
      expect(await sessions.touch(session.id)).toBeUndefined();
      await users.remove(id);
      expect(await users.count()).toBe(0);
    });
  });

  describe('setup tokens', () => {
    it('accepts a new token until it expires', async () => {
      const { users } = s.store;
      const token = await users.createSetupToken(HOUR);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await users.checkSetupToken(token)).toBe(true);
      expect(await users.checkSetupToken('not the token')).toBe(false);
      s.clock.now = T0 + HOUR;
      expect(await users.checkSetupToken(token)).toBe(false);
      expect(await users.useSetupToken(token)).toBe(false);
    });

    it('is used once only', async () => {
      const { users } = s.store;
      const token = await users.createSetupToken(HOUR);
      expect(await users.useSetupToken(token)).toBe(true);
      expect(await users.checkSetupToken(token)).toBe(false);
      expect(await users.useSetupToken(token)).toBe(false);
      expect(await users.useSetupToken('not the token')).toBe(false);
    });

    it('is used once only when it is used twice at the same moment', async () => {
      const token = await s.store.users.createSetupToken(HOUR);
      await s.openConnections();
      const used = await Promise.all([1, 2, 3, 4].map(() => s.store.users.useSetupToken(token)));
      expect(used.filter(Boolean)).toHaveLength(1);
    });

    it('invalidates the older tokens when a new one is created, also when two are created at once', async () => {
      const { users } = s.store;
      const first = await users.createSetupToken(HOUR);
      const second = await users.createSetupToken(HOUR);
      expect(await users.checkSetupToken(first)).toBe(false);
      expect(await users.checkSetupToken(second)).toBe(true);
      await s.openConnections();
      const together = await Promise.all([1, 2, 3].map(() => users.createSetupToken(HOUR)));
      const valid = await Promise.all([second, ...together].map((t) => users.checkSetupToken(t)));
      expect(valid.filter(Boolean)).toHaveLength(1);
    });
  });
});
