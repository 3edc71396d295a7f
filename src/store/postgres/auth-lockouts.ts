/**
 * Failed SMTP AUTH per client address, and the lockouts it leads to, in
 * PostgreSQL: the same repository and policy as src/store/auth-lockouts.ts.
 *
 * Several instances may count failures of one address at once. Counting and
 * locking read then write (prune, count, insert; or delete the failures and
 * add a strike), so each such transaction first takes a transaction-scoped
 * advisory lock on the address: failures of one address are counted one
 * transaction at a time, as under SQLite's single writer, and however many
 * logins reach however many instances, at most 5 passwords are tried per
 * lockout and a lockout adds exactly one strike. Other addresses do not wait.
 */
import type { Async } from '../async.js';
import { LOCKOUT_POLICY, nextLockout, toLockout, type Attempt, type Lockout, type LockoutRepo, type LockoutRow } from '../auth-lockouts.js';
import type { PgContext } from './context.js';
import { LOCKS } from './locks.js';
import type { Sql } from './pool.js';

/** Waits for, then holds until commit, the right to count `address`'s failures. */
async function lockAddress(sql: Sql, address: string): Promise<void> {
  // Two 32-bit keys: the address's hash under its class (see locks.ts); two addresses with one hash merely wait for each other.
  await sql.run('SELECT pg_advisory_xact_lock($1::integer, hashtext($2))', [LOCKS.authAddressClass, address]);
}

async function pruneFailures(sql: Sql, address: string, now: number): Promise<void> {
  await sql.run('DELETE FROM auth_failures WHERE address = $1 AND at <= $2', [address, now - LOCKOUT_POLICY.windowMs]);
}

async function countFailures(sql: Sql, address: string): Promise<number> {
  return (await sql.row<{ n: number }>('SELECT COUNT(*) AS n FROM auth_failures WHERE address = $1', [address]))?.n ?? 0;
}

// Address and time too, as SQLite's: the attempt's row is gone when its address was cleared meanwhile.
async function deleteAttempt(sql: Sql, attempt: Attempt): Promise<void> {
  await sql.run('DELETE FROM auth_failures WHERE id = $1 AND address = $2 AND at = $3', [attempt.id, attempt.address, attempt.at]);
}

/** Counts a failure; the lockout it starts, or null. Runs in the caller's transaction, which holds the address lock. */
async function countFailure(sql: Sql, address: string, username: string | null, now: number): Promise<Lockout | null> {
  await sql.run('INSERT INTO auth_failures (address, at, username) VALUES ($1, $2, $3)', [address, now, username]);
  await pruneFailures(sql, address, now);
  if ((await countFailures(sql, address)) < LOCKOUT_POLICY.maxFailures) return null;
  await sql.run('DELETE FROM auth_failures WHERE address = $1', [address]);
  const previous = await sql.row<LockoutRow>('SELECT * FROM auth_lockouts WHERE address = $1', [address]);
  const lockout = nextLockout(previous, address, username, now);
  await sql.run(
    `INSERT INTO auth_lockouts (address, locked_at, locked_until, strikes, last_username) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (address) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until,
       strikes = excluded.strikes, last_username = excluded.last_username`,
    [lockout.address, lockout.locked_at, lockout.locked_until, lockout.strikes, lockout.last_username],
  );
  return toLockout(lockout);
}

/** Creates the repository over the context's pool. */
export function createPgLockoutsRepo({ pg }: PgContext): Async<LockoutRepo> {
  return {
    active: async (address, now) => {
      const row = await pg.row<LockoutRow>('SELECT * FROM auth_lockouts WHERE address = $1 AND locked_until > $2', [address, now]);
      return row ? toLockout(row) : null;
    },
    recordFailure: (address, username, now) =>
      pg.tx(async (sql) => {
        await lockAddress(sql, address);
        return countFailure(sql, address, username, now);
      }),
    beginAttempt: (address, username, now) =>
      pg.tx(async (sql) => {
        await lockAddress(sql, address);
        await pruneFailures(sql, address, now);
        if ((await countFailures(sql, address)) >= LOCKOUT_POLICY.maxFailures) return null;
        const row = await sql.row<{ id: number }>(`INSERT INTO auth_failures (address, at, username) VALUES ($1, $2, $3) RETURNING id`, [
          address,
          now,
          username,
        ]);
        return { id: (row as { id: number }).id, address, username, at: now };
      }),
    // The held row gives way to a failure counted now, which may start the lockout.
    attemptFailed: (attempt, now) =>
      pg.tx(async (sql) => {
        await lockAddress(sql, attempt.address);
        await deleteAttempt(sql, attempt);
        return countFailure(sql, attempt.address, attempt.username, now);
      }),
    abandonAttempt: async (attempt) => {
      await deleteAttempt(pg, attempt);
    },
    clearFailures: async (address) => {
      await pg.run('DELETE FROM auth_failures WHERE address = $1', [address]);
    },
    list: async (now) =>
      (await pg.rows<LockoutRow>('SELECT * FROM auth_lockouts WHERE locked_until > $1 ORDER BY locked_at DESC', [now])).map(toLockout),
    unlock: (address) =>
      pg.tx(async (sql) => {
        await lockAddress(sql, address);
        await sql.run('DELETE FROM auth_failures WHERE address = $1', [address]);
        return (await sql.run('DELETE FROM auth_lockouts WHERE address = $1', [address])) > 0;
      }),
  };
}
