/**
 * Lane state on PostgreSQL, as src/store/lane-state.ts keeps it in SQLite: a
 * mailbox lane's pause and lowered connection limit, and the recipients
 * reserved against its rolling daily quota. Several instances reserve for the
 * same mailbox here, so unlike SQLite's single relay, which keeps each lane's
 * day in memory, every look at the quota is answered by the database.
 */
import type { Async } from '../async.js';
import { DAY_MS, STARTS_SINCE_SQL, toLaneSnapshot, type LaneRow, type LaneStateRepo } from '../lane-state.js';
import type { PgContext } from './context.js';
import { numbered, type Sql } from './pool.js';

/**
 * Reserves `recipients` against a lane's quota through `sql` (a claim runs it in its transaction);
 * the reservation's id. Reservations past the rolling day no longer count and are pruned on the
 * way, so the table stays as small as a day's traffic.
 */
export async function reserveIn(sql: Sql, key: string, messageId: string, recipients: number, at: number): Promise<number> {
  const row = await sql.row<{ id: number }>(
    `WITH pruned AS (DELETE FROM lane_usage WHERE lane_key = $1 AND at <= $5)
     INSERT INTO lane_usage (lane_key, message_id, at, recipients) VALUES ($1, $2, $3, $4) RETURNING id`,
    [key, messageId, at, recipients, at - DAY_MS],
  );
  if (!row) throw new Error('lane_usage INSERT returned no id');
  return row.id;
}

/** Creates the lane state repository over the pool. */
export function createPgLaneStateRepo({ pg }: PgContext): Async<LaneStateRepo> {
  return {
    load: async (key) => {
      const row = await pg.row<LaneRow>('SELECT paused_until, throttle_limit, throttled_until FROM lane_state WHERE lane_key = $1', [key]);
      return row ? toLaneSnapshot(row) : null;
    },
    save: async (key, state, now) => {
      await pg.run(
        `INSERT INTO lane_state (lane_key, paused_until, throttle_limit, throttled_until, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (lane_key) DO UPDATE SET paused_until = excluded.paused_until, throttle_limit = excluded.throttle_limit,
           throttled_until = excluded.throttled_until, updated_at = excluded.updated_at`,
        [key, state.pausedUntil, state.throttleLimit, state.throttledUntil, now],
      );
    },
    reserve: (key, messageId, recipients, at) => reserveIn(pg, key, messageId, recipients, at),
    settle: async (reservationId, reserved, accepted) => {
      // The usual case (every recipient accepted) writes nothing: one commit less per message.
      if (accepted === reserved) return;
      if (accepted > 0) await pg.run('UPDATE lane_usage SET recipients = $1 WHERE id = $2', [accepted, reservationId]);
      else await pg.run('DELETE FROM lane_usage WHERE id = $1', [reservationId]);
    },
    fitsAt: async (key, needed, perDay, now) => {
      // SQLite's walk over the day's reservations, oldest first, as one query: a reservation must
      // leave the rolling day before `needed` more fit while what counts before it (`held`: itself and
      // every later one) plus `needed` exceeds `perDay`. Those form the oldest ones; the last of them
      // decides. None: they fit now. A message larger than the whole budget waits for all of them.
      const row = await pg.row<{ last: number | null }>(
        `SELECT MAX(at) AS last FROM (
           SELECT at, SUM(recipients) OVER (ORDER BY at DESC, id DESC ROWS UNBOUNDED PRECEDING) AS held
           FROM lane_usage WHERE lane_key = $1 AND at > $2
         ) day WHERE held + $3 > $4`,
        [key, now - DAY_MS, needed, perDay],
      );
      const last = row?.last ?? null;
      return last === null ? now : last + DAY_MS;
    },
    startsSince: async (key, since) => (await pg.row<{ n: number }>(numbered(STARTS_SINCE_SQL), [key, since]))?.n ?? 0,
  };
}
