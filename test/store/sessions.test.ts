/**
 * Admin sessions, flash messages and OAuth states as stored, on both engines:
 * lifetimes (idle and absolute), a flash shown once, and a state used once,
 * by one session, before it expires, even when it comes back twice at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import { SESSION_TIMES } from '../../src/store/index.js';
import { hashToken } from '../../src/store/users.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  let userId: number;
  beforeEach(async () => {
    s = await openAccessStore(engine);
    userId = (await s.store.users.add({ email: 'admin@contoso.test', passwordHash: 'h', isSuperAdmin: true, canUpdateSettings: true })).id;
  });
  afterEach(() => s.cleanup());

  describe('sessions', () => {
    it('starts a session stored by the hash of its id, which ends after the idle time', async () => {
      const { id, session } = await s.store.sessions.create(userId);
      expect(session).toEqual({ idHash: hashToken(id), userId, createdAt: T0, expiresAt: T0 + SESSION_TIMES.idleMs });
      expect(await s.store.sessions.touch(id)).toEqual(session);
      expect(await s.store.sessions.touch('not the id')).toBeUndefined();
      s.clock.now = T0 + SESSION_TIMES.idleMs;
      expect(await s.store.sessions.touch(id)).toBeUndefined();
      // The expired session is gone, not just refused.
      s.clock.now = T0;
      expect(await s.store.sessions.touch(id)).toBeUndefined();
    });

    it('extends the idle expiry at most once a minute, and never past the absolute lifetime', async () => {
      const { sessions } = s.store;
      const { id } = await sessions.create(userId);
      s.clock.now = T0 + MINUTE - 1;
      expect((await sessions.touch(id))?.expiresAt).toBe(T0 + SESSION_TIMES.idleMs);
      s.clock.now = T0 + MINUTE;
      expect((await sessions.touch(id))?.expiresAt).toBe(T0 + MINUTE + SESSION_TIMES.idleMs);
      // Seen every 11 hours, the session lives until its absolute end.
      for (let t = T0 + 11 * 60 * MINUTE; t < T0 + SESSION_TIMES.absoluteMs; t += 11 * 60 * MINUTE) {
        s.clock.now = t;
        const seen = await sessions.touch(id);
        expect(seen?.expiresAt).toBe(Math.min(t + SESSION_TIMES.idleMs, T0 + SESSION_TIMES.absoluteMs));
      }
      s.clock.now = T0 + SESSION_TIMES.absoluteMs;
      expect(await sessions.touch(id)).toBeUndefined();
    });

    it('ends one session by its id, leaving the others', async () => {
      const { sessions } = s.store;
      const one = await sessions.create(userId);
      const two = await sessions.create(userId);
      await sessions.destroy(one.id);
      await sessions.destroy('not an id');
      expect(await sessions.touch(one.id)).toBeUndefined();
      expect(await sessions.touch(two.id)).toEqual(two.session);
    });

    it('deletes expired sessions when a new one starts', async () => {
      const { sessions } = s.store;
      const old = await sessions.create(userId);
      s.clock.now = T0 + SESSION_TIMES.idleMs;
      const fresh = await sessions.create(userId);
      // A flash set on the deleted session changes nothing; the live one keeps its own.
      await sessions.setFlash(old.session.idHash, 'lost');
      await sessions.setFlash(fresh.session.idHash, 'kept');
      s.clock.now = T0;
      expect(await sessions.touch(old.id)).toBeUndefined();
      expect(await sessions.takeFlash(old.session.idHash)).toBeNull();
      expect(await sessions.takeFlash(fresh.session.idHash)).toBe('kept');
    });
  });

  describe('flash messages', () => {
    it('returns a flash once, and null when there is none', async () => {
      const { sessions } = s.store;
      const { session } = await sessions.create(userId);
      expect(await sessions.takeFlash(session.idHash)).toBeNull();
      await sessions.setFlash(session.idHash, 'first');
      await sessions.setFlash(session.idHash, 'second');
      expect(await sessions.takeFlash(session.idHash)).toBe('second');
      expect(await sessions.takeFlash(session.idHash)).toBeNull();
      expect(await sessions.takeFlash('unknown')).toBeNull();
    });

    it('shows a flash to one of several requests taking it at once', async () => {
      const { sessions } = s.store;
      const { session } = await sessions.create(userId);
      await sessions.setFlash(session.idHash, 'Saved.');
      await s.openConnections();
      const taken = await Promise.all([1, 2, 3, 4, 5].map(() => sessions.takeFlash(session.idHash)));
      expect(taken.filter((f) => f !== null)).toEqual(['Saved.']);
    });
  });

  describe('OAuth states', () => {
    let serverId: number;
    let sessionHash: string;
    beforeEach(async () => {
      serverId = await s.addServer('office365');
      sessionHash = (await s.store.sessions.create(userId)).session.idHash;
    });

    it('gives back the server, session and PKCE verifier once, then reports the state as used', async () => {
      const { sessions } = s.store;
      const state = await sessions.createState({ serverId, sessionHash, verifier: 'the verifier' }, 10 * MINUTE);
      expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      s.clock.now = T0 + 10 * MINUTE - 1;
      expect(await sessions.consumeState(state, sessionHash)).toEqual({ serverId, sessionHash, verifier: 'the verifier' });
      expect(await sessions.consumeState(state, sessionHash)).toEqual({ problem: 'used' });
      expect(await sessions.consumeState('never issued', sessionHash)).toEqual({ problem: 'unknown' });
    });

    it('refuses an expired state and one brought back by another session or none, burning it', async () => {
      const { sessions } = s.store;
      const other = (await sessions.create(userId)).session.idHash;
      const expired = await sessions.createState({ serverId, sessionHash, verifier: 'v1' }, 10 * MINUTE);
      const foreign = await sessions.createState({ serverId, sessionHash, verifier: 'v2' }, 10 * MINUTE);
      const anonymous = await sessions.createState({ serverId, sessionHash, verifier: 'v3' }, 20 * MINUTE);
      s.clock.now = T0 + 10 * MINUTE;
      expect(await sessions.consumeState(expired, sessionHash)).toEqual({ problem: 'expired' });
      expect(await sessions.consumeState(anonymous, null)).toEqual({ problem: 'other_session' });
      s.clock.now = T0;
      expect(await sessions.consumeState(foreign, other)).toEqual({ problem: 'other_session' });
      for (const state of [expired, foreign, anonymous])
        expect(await sessions.consumeState(state, sessionHash)).toEqual({ problem: 'used' });
    });

    it('hands a state to exactly one of several callbacks bringing it back at once', async () => {
      const { sessions } = s.store;
      const state = await sessions.createState({ serverId, sessionHash, verifier: 'v' }, 10 * MINUTE);
      await s.openConnections();
      const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => sessions.consumeState(state, sessionHash)));
      expect(answers.filter((a) => 'verifier' in a)).toEqual([{ serverId, sessionHash, verifier: 'v' }]);
      expect(answers.filter((a) => 'problem' in a)).toEqual(Array(5).fill({ problem: 'used' }));
    });

    it('keeps an expired state a day, so that it is reported as used or expired rather than unknown', async () => {
      const { sessions } = s.store;
      const used = await sessions.createState({ serverId, sessionHash, verifier: 'v1' }, 10 * MINUTE);
      const unused = await sessions.createState({ serverId, sessionHash, verifier: 'v2' }, 10 * MINUTE);
      await sessions.consumeState(used, sessionHash);
      s.clock.now = T0 + 10 * MINUTE + DAY - 1;
      await sessions.createState({ serverId, sessionHash, verifier: 'v3' }, 10 * MINUTE);
      expect(await sessions.consumeState(used, sessionHash)).toEqual({ problem: 'used' });
      s.clock.now = T0 + 10 * MINUTE + DAY;
      await sessions.createState({ serverId, sessionHash, verifier: 'v4' }, 10 * MINUTE);
      expect(await sessions.consumeState(used, sessionHash)).toEqual({ problem: 'unknown' });
      expect(await sessions.consumeState(unused, sessionHash)).toEqual({ problem: 'unknown' });
    });

    it('forgets the states of a session that ends', async () => {
      const { sessions } = s.store;
      const { id, session } = await sessions.create(userId);
      const state = await sessions.createState({ serverId, sessionHash: session.idHash, verifier: 'v' }, 10 * MINUTE);
      await sessions.destroy(id);
      expect(await sessions.consumeState(state, session.idHash)).toEqual({ problem: 'unknown' });
    });
  });
});
