/**
 * Failed SMTP AUTH, counted per client address, and the lockouts it leads
 * to. Kept in SQLite so that restarting the relay does not give an attacker
 * a fresh set of guesses.
 *
 * Policy: 5 failures within 10 minutes lock the address out of AUTH for 15
 * minutes; each new lockout within a day of the last one doubles that, up to
 * a day. A successful login clears the failures, not the strikes.
 *
 * An attempt counts as a failure from before its password is checked
 * (`beginAttempt`) until it succeeds or is abandoned unchecked, and an address
 * whose counted failures reach the limit gets no further check: however many
 * logins arrive at once, at most 5 passwords are tried per lockout.
 */
import type { Db } from './db.js';

export const LOCKOUT_POLICY = {
  maxFailures: 5,
  windowMs: 10 * 60_000,
  firstLockMs: 15 * 60_000,
  maxLockMs: 24 * 60 * 60_000,
  /** Strikes are forgotten this long after the last lockout ended. */
  forgetMs: 24 * 60 * 60_000,
} as const;

export interface Lockout {
  address: string;
  lockedAt: number;
  lockedUntil: number;
  /** How many lockouts in a row (1 = the first); the duration doubles with each. */
  strikes: number;
  /** The username of the last failed attempt, for the admin's eyes. */
  lastUsername: string | null;
}

/** An `auth_lockouts` row, as both engines read it. */
export interface LockoutRow {
  address: string;
  locked_at: number;
  locked_until: number;
  strikes: number;
  last_username: string | null;
}

/** A login attempt counted before its check: the failure row it holds. */
export interface Attempt {
  id: number;
  address: string;
  username: string | null;
  at: number;
}

export interface LockoutRepo {
  /** The address's lockout while it lasts, else null. */
  active(address: string, now: number): Lockout | null;
  /** Counts a failure; returns the lockout when this failure started one. */
  recordFailure(address: string, username: string | null, now: number): Lockout | null;
  /**
   * Counts an attempt as a failure before its password is checked and returns
   * it; null (nothing counted) when the address has no failures left,
   * because attempts still being checked hold them.
   */
  beginAttempt(address: string, username: string | null, now: number): Attempt | null;
  /** The attempt's password was wrong: it stays a failure; returns the lockout when it started one. */
  attemptFailed(attempt: Attempt, now: number): Lockout | null;
  /** The attempt's password was never checked (relay365 was busy): it no longer counts. */
  abandonAttempt(attempt: Attempt): void;
  /** A successful login: the failures so far no longer count. */
  clearFailures(address: string): void;
  /** Every lockout still in force, newest first. */
  list(now: number): Lockout[];
  /** Lifts a lockout and forgets its strikes and failures; false when there was none. */
  unlock(address: string): boolean;
}

/** An `auth_lockouts` row as the admin sees it. */
export const toLockout = (row: LockoutRow): Lockout => ({
  address: row.address,
  lockedAt: row.locked_at,
  lockedUntil: row.locked_until,
  strikes: row.strikes,
  lastUsername: row.last_username,
});

/**
 * The lockout the failure at `now` starts, after `previous` (the address's last one, if any): one strike more
 * when the last lockout ended less than a day ago, else the first; its duration doubles with each strike.
 */
export function nextLockout(previous: LockoutRow | undefined, address: string, username: string | null, now: number): LockoutRow {
  const strikes = previous && previous.locked_until > now - LOCKOUT_POLICY.forgetMs ? previous.strikes + 1 : 1;
  const duration = Math.min(LOCKOUT_POLICY.firstLockMs * 2 ** (strikes - 1), LOCKOUT_POLICY.maxLockMs);
  return { address, locked_at: now, locked_until: now + duration, strikes, last_username: username };
}

/** Creates the repository over an open database. */
export function createLockoutRepo(db: Db): LockoutRepo {
  const selectLockout = db.prepare<[string], LockoutRow>('SELECT * FROM auth_lockouts WHERE address = ?');
  const insertFailure = db.prepare<[string, number, string | null]>('INSERT INTO auth_failures (address, at, username) VALUES (?, ?, ?)');
  const pruneFailures = db.prepare<[string, number]>('DELETE FROM auth_failures WHERE address = ? AND at <= ?');
  const countFailures = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE address = ?');
  const deleteFailures = db.prepare<[string]>('DELETE FROM auth_failures WHERE address = ?');
  // Address and time too: a row id freed by a cleared address may be given to a newer attempt.
  const deleteAttempt = db.prepare<[number, string, number]>('DELETE FROM auth_failures WHERE id = ? AND address = ? AND at = ?');
  const upsertLockout = db.prepare<[string, number, number, number, string | null]>(
    `INSERT INTO auth_lockouts (address, locked_at, locked_until, strikes, last_username) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(address) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until,
       strikes = excluded.strikes, last_username = excluded.last_username`,
  );

  const recordFailure = db.transaction((address: string, username: string | null, now: number): Lockout | null => {
    insertFailure.run(address, now, username);
    pruneFailures.run(address, now - LOCKOUT_POLICY.windowMs);
    if ((countFailures.get(address)?.n ?? 0) < LOCKOUT_POLICY.maxFailures) return null;
    deleteFailures.run(address);
    const lockout = nextLockout(selectLockout.get(address), address, username, now);
    upsertLockout.run(lockout.address, lockout.locked_at, lockout.locked_until, lockout.strikes, lockout.last_username);
    return toLockout(lockout);
  });

  return {
    active: (address, now) => {
      const row = selectLockout.get(address);
      return row && row.locked_until > now ? toLockout(row) : null;
    },
    recordFailure,
    beginAttempt: db.transaction((address: string, username: string | null, now: number): Attempt | null => {
      pruneFailures.run(address, now - LOCKOUT_POLICY.windowMs);
      if ((countFailures.get(address)?.n ?? 0) >= LOCKOUT_POLICY.maxFailures) return null;
      return { id: Number(insertFailure.run(address, now, username).lastInsertRowid), address, username, at: now };
    }),
    // The held row gives way to a failure counted now, which may start the lockout.
    attemptFailed: db.transaction((attempt: Attempt, now: number): Lockout | null => {
      deleteAttempt.run(attempt.id, attempt.address, attempt.at);
      return recordFailure(attempt.address, attempt.username, now);
    }),
    abandonAttempt: (attempt) => {
      deleteAttempt.run(attempt.id, attempt.address, attempt.at);
    },
    clearFailures: (address) => {
      deleteFailures.run(address);
    },
    list: (now) =>
      (db.prepare('SELECT * FROM auth_lockouts WHERE locked_until > ? ORDER BY locked_at DESC').all(now) as LockoutRow[]).map(toLockout),
    unlock: db.transaction((address: string): boolean => {
      deleteFailures.run(address);
      return db.prepare('DELETE FROM auth_lockouts WHERE address = ?').run(address).changes > 0;
    }),
  };
}
