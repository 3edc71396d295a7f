/**
 * Failed SMTP AUTH and lockouts as stored, on both engines: 5 failures in 10
 * minutes lock an address out for 15 minutes, doubling per strike up to a
 * day; attempts count before their check; and the counting stays exact when
 * many failures of one address arrive at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import { LOCKOUT_POLICY, type Attempt } from '../../src/store/auth-lockouts.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CLIENT = '203.0.113.9';

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  beforeEach(async () => {
    s = await openAccessStore(engine);
  });
  afterEach(() => s.cleanup());

  /** `n` failures of `address`, one a millisecond from `at`; what the last one returned. */
  const fail = async (n: number, at: number, address = CLIENT) => {
    let last = null;
    for (let i = 0; i < n; i++) last = await s.store.lockouts.recordFailure(address, `user${i}`, at + i);
    return last;
  };

  /** Begins attempts until one is refused; the attempts begun. */
  const beginAll = async (at: number): Promise<Attempt[]> => {
    const begun: Attempt[] = [];
    for (;;) {
      const attempt = await s.store.lockouts.beginAttempt(CLIENT, 'scanner', at);
      if (!attempt) return begun;
      begun.push(attempt);
    }
  };

  describe('failures', () => {
    it('locks an address out for 15 minutes on its 5th failure, naming the last username; others stay free', async () => {
      const { lockouts } = s.store;
      expect(await fail(4, T0)).toBeNull();
      expect(await lockouts.active(CLIENT, T0 + 4)).toBeNull();
      const lockout = await lockouts.recordFailure(CLIENT, 'printer', T0 + 4);
      expect(lockout).toEqual({
        address: CLIENT,
        lockedAt: T0 + 4,
        lockedUntil: T0 + 4 + 15 * MINUTE,
        strikes: 1,
        lastUsername: 'printer',
      });
      expect(await lockouts.active(CLIENT, T0 + 15 * MINUTE)).toEqual(lockout);
      expect(await lockouts.active(CLIENT, T0 + 4 + 15 * MINUTE)).toBeNull();
      expect(await lockouts.active('203.0.113.10', T0 + 5)).toBeNull();
    });

    it('counts only the failures of the last 10 minutes', async () => {
      await s.store.lockouts.recordFailure(CLIENT, null, T0);
      expect(await fail(4, T0 + LOCKOUT_POLICY.windowMs)).toBeNull();
      expect(await s.store.lockouts.recordFailure(CLIENT, null, T0 + LOCKOUT_POLICY.windowMs + 4)).toMatchObject({ strikes: 1 });
    });

    it('doubles each lockout that follows within a day of the last one ending, up to a day, then forgets the strikes', async () => {
      let lockout = await fail(5, T0);
      const minutes: number[] = [];
      for (let i = 0; i < 8; i++) {
        expect(lockout).toMatchObject({ strikes: i + 1 });
        minutes.push(((lockout?.lockedUntil ?? 0) - (lockout?.lockedAt ?? 0)) / MINUTE);
        lockout = await fail(5, (lockout?.lockedUntil ?? 0) + DAY - 5);
      }
      expect(minutes).toEqual([15, 30, 60, 120, 240, 480, 960, 1440]);
      expect(lockout).toMatchObject({ strikes: 9 });
      // Exactly a day after the last lockout ended, its strikes are forgotten.
      lockout = await fail(5, (lockout?.lockedUntil ?? 0) + DAY - 4);
      expect(lockout).toMatchObject({ strikes: 1 });
      expect((lockout?.lockedUntil ?? 0) - (lockout?.lockedAt ?? 0)).toBe(15 * MINUTE);
    });

    it('forgets the failures after a successful login, not the strikes', async () => {
      const { lockouts } = s.store;
      await fail(4, T0);
      await lockouts.clearFailures(CLIENT);
      expect(await fail(4, T0 + 10)).toBeNull();
      const first = await lockouts.recordFailure(CLIENT, null, T0 + 20);
      expect(first).toMatchObject({ strikes: 1 });
      await fail(4, first?.lockedUntil ?? 0);
      await lockouts.clearFailures(CLIENT);
      expect(await fail(5, (first?.lockedUntil ?? 0) + 10)).toMatchObject({ strikes: 2 });
    });

    it('locks out exactly once per 5 failures when 10 arrive at once', async () => {
      await s.openConnections();
      const results = await Promise.all(Array.from({ length: 10 }, () => s.store.lockouts.recordFailure(CLIENT, 'scanner', T0)));
      // Whichever call counts the 5th and the 10th failure: two lockouts, one strike each.
      expect(results.flatMap((r) => (r === null ? [] : [r.strikes])).sort()).toEqual([1, 2]);
      expect(await s.store.lockouts.active(CLIENT, T0)).toMatchObject({ strikes: 2 });
    });
  });

  describe('attempts', () => {
    it('holds a failure for each attempt being checked, refusing the 6th until one is abandoned', async () => {
      const { lockouts } = s.store;
      const begun = await beginAll(T0);
      expect(begun).toHaveLength(5);
      expect(begun[0]).toEqual({ id: expect.any(Number), address: CLIENT, username: 'scanner', at: T0 });
      await lockouts.abandonAttempt(begun[2] as Attempt);
      expect(await beginAll(T0 + 1)).toHaveLength(1);
      // Held attempts are not a lockout.
      expect(await lockouts.active(CLIENT, T0 + 1)).toBeNull();
    });

    it('turns a failed attempt into a failure counted when it failed, which may start the lockout', async () => {
      const { lockouts } = s.store;
      for (let i = 0; i < 4; i++) {
        const attempt = await lockouts.beginAttempt(CLIENT, 'scanner', T0 + i);
        expect(await lockouts.attemptFailed(attempt as Attempt, T0 + LOCKOUT_POLICY.windowMs + i)).toBeNull();
      }
      // Counted when they failed: the window runs from then.
      const last = await lockouts.beginAttempt(CLIENT, 'printer', T0 + LOCKOUT_POLICY.windowMs + 4);
      expect(await lockouts.attemptFailed(last as Attempt, T0 + LOCKOUT_POLICY.windowMs + 5)).toMatchObject({
        strikes: 1,
        lastUsername: 'printer',
        lockedAt: T0 + LOCKOUT_POLICY.windowMs + 5,
      });
    });

    it('frees the attempts of a successful login and of an unlock', async () => {
      const { lockouts } = s.store;
      await beginAll(T0);
      await lockouts.clearFailures(CLIENT);
      await beginAll(T0 + 1);
      await lockouts.unlock(CLIENT);
      expect(await beginAll(T0 + 2)).toHaveLength(5);
    });

    it('abandons only its own attempt, not a newer one after the failures were cleared', async () => {
      const { lockouts } = s.store;
      const stale = await lockouts.beginAttempt(CLIENT, 'scanner', T0);
      await lockouts.clearFailures(CLIENT);
      const newer = await lockouts.beginAttempt(CLIENT, 'scanner', T0 + 1);
      expect(newer).not.toBeNull();
      await lockouts.abandonAttempt(stale as Attempt);
      expect(await beginAll(T0 + 2)).toHaveLength(4);
    });

    it('begins at most 5 attempts when 20 logins arrive at once', async () => {
      await s.openConnections();
      const begun = await Promise.all(Array.from({ length: 20 }, () => s.store.lockouts.beginAttempt(CLIENT, 'scanner', T0)));
      expect(begun.filter((a) => a !== null)).toHaveLength(5);
      expect(new Set(begun.filter((a) => a !== null).map((a) => a?.id)).size).toBe(5);
    });

    it('starts one lockout when the 5 attempts held fail at once', async () => {
      const begun = await beginAll(T0);
      await s.openConnections();
      const results = await Promise.all(begun.map((a, i) => s.store.lockouts.attemptFailed(a, T0 + 1 + i)));
      expect(results.filter((r) => r !== null).map((r) => r?.strikes)).toEqual([1]);
    });
  });

  describe('the lockouts list', () => {
    it('lists the lockouts in force, newest first', async () => {
      await fail(5, T0, '203.0.113.1');
      await fail(5, T0 + 10 * MINUTE, '203.0.113.2');
      await fail(5, T0 + 5 * MINUTE, '203.0.113.3');
      expect((await s.store.lockouts.list(T0 + 10 * MINUTE)).map((l) => l.address)).toEqual(['203.0.113.2', '203.0.113.3', '203.0.113.1']);
      expect((await s.store.lockouts.list(T0 + 15 * MINUTE + 4)).map((l) => l.address)).toEqual(['203.0.113.2', '203.0.113.3']);
    });

    it('unlocks an address, forgetting its strikes and failures; false when it had no lockout', async () => {
      const { lockouts } = s.store;
      await fail(5, T0);
      await fail(5, T0 + 15 * MINUTE);
      await fail(4, T0 + 45 * MINUTE);
      expect(await lockouts.unlock(CLIENT)).toBe(true);
      expect(await lockouts.active(CLIENT, T0 + 45 * MINUTE)).toBeNull();
      expect(await lockouts.list(T0 + 45 * MINUTE)).toEqual([]);
      expect(await lockouts.recordFailure(CLIENT, null, T0 + 46 * MINUTE)).toBeNull();
      expect(await fail(4, T0 + 47 * MINUTE)).toMatchObject({ strikes: 1 });
      expect(await lockouts.unlock('203.0.113.10')).toBe(false);
    });
  });
});
