/**
 * What the scheduler must remember about a mailbox's lane across a restart:
 * a pause ordered by Microsoft (quota reply), the lowered connection limit
 * after a `432 4.3.2`, and the recipients reserved or submitted in the last
 * 24 hours (Exchange's rolling daily quota counts recipients per mailbox). A
 * reservation of an attempt cut short by a crash stays counted: the quota
 * errs on the safe side by at most the messages that were in flight.
 */
import type { Db } from './db.js';

/** The rolling window of Exchange's daily recipient quota. */
export const DAY_MS = 24 * 60 * 60_000;

/** The durable part of a lane. */
export interface LaneSnapshot {
  pausedUntil: number;
  /** Lowered Max Connections after a 432, in force until `throttledUntil`; null when not lowered. */
  throttleLimit: number | null;
  throttledUntil: number;
}

export interface LaneStateRepo {
  /** The stored state of a lane, or null when it has none. */
  load(key: string): LaneSnapshot | null;
  save(key: string, state: LaneSnapshot, now: number): void;
  /** Reserves a message's recipients against the lane's daily quota; returns the reservation's id. */
  reserve(key: string, messageId: string, recipients: number, at: number): number;
  /** Keeps a reservation of `reserved` recipients at the `accepted` ones (0 removes it). */
  settle(reservationId: number, reserved: number, accepted: number): void;
  /**
   * When `needed` more recipients fit under `perDay` for a lane at `now`, as
   * the older reservations leave the rolling 24 hours (now when they fit already).
   */
  fitsAt(key: string, needed: number, perDay: number, now: number): number;
  /** How many attempts the lane started after `since` (for Messages per Minute, when an instance takes a lane over). */
  startsSince(key: string, since: number): number;
}

/** The SQL of `startsSince`, both engines. */
export const STARTS_SINCE_SQL = 'SELECT COUNT(*) AS n FROM lane_usage WHERE lane_key = ? AND at > ?';

/** A row of `lane_state` as both engines read it. */
export interface LaneRow {
  paused_until: number;
  throttle_limit: number | null;
  throttled_until: number;
}

/** A lane's stored state. */
export function toLaneSnapshot(row: LaneRow): LaneSnapshot {
  return { pausedUntil: row.paused_until, throttleLimit: row.throttle_limit, throttledUntil: row.throttled_until };
}

/** A lane's reservations in the rolling 24 hours, oldest first, and their sum. */
interface Ledger {
  rows: { id: number; at: number; recipients: number }[];
  used: number;
}

/**
 * Creates the repository over an open database. The relay is the only writer of the reservations:
 * each lane's last 24 hours are read once and then kept in memory, so a look at the quota costs
 * the same with ten reservations in the day as with a hundred thousand.
 */
export function createLaneStateRepo(db: Db): LaneStateRepo {
  const select = db.prepare<[string], LaneRow>('SELECT paused_until, throttle_limit, throttled_until FROM lane_state WHERE lane_key = ?');
  const upsert = db.prepare<[string, number, number | null, number, number]>(
    `INSERT INTO lane_state (lane_key, paused_until, throttle_limit, throttled_until, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(lane_key) DO UPDATE SET paused_until = excluded.paused_until, throttle_limit = excluded.throttle_limit,
       throttled_until = excluded.throttled_until, updated_at = excluded.updated_at`,
  );
  const insertUsage = db.prepare<[string, string, number, number]>(
    'INSERT INTO lane_usage (lane_key, message_id, at, recipients) VALUES (?, ?, ?, ?)',
  );
  const pruneUsage = db.prepare<[string, number]>('DELETE FROM lane_usage WHERE lane_key = ? AND at <= ?');
  const settleUsage = db.prepare<[number, number]>('UPDATE lane_usage SET recipients = ? WHERE id = ?');
  const removeUsage = db.prepare<[number]>('DELETE FROM lane_usage WHERE id = ?');
  const usageRows = db.prepare<[string, number], { id: number; at: number; recipients: number }>(
    'SELECT id, at, recipients FROM lane_usage WHERE lane_key = ? AND at > ? ORDER BY at, id',
  );
  const startsSince = db.prepare<[string, number], { n: number }>(STARTS_SINCE_SQL);
  const ledgers = new Map<string, Ledger>();
  /** The lane's ledger with the reservations older than a day before `now` dropped. */
  const ledger = (key: string, now: number): Ledger => {
    let book = ledgers.get(key);
    if (!book) {
      const rows = usageRows.all(key, now - DAY_MS);
      book = { rows, used: rows.reduce((sum, row) => sum + row.recipients, 0) };
      ledgers.set(key, book);
    }
    let old = 0;
    while (old < book.rows.length && (book.rows[old]?.at ?? Infinity) <= now - DAY_MS) book.used -= book.rows[old++]?.recipients ?? 0;
    if (old > 0) book.rows.splice(0, old);
    return book;
  };
  /** The ledger holding a reservation, and the reservation. */
  const findReservation = (id: number): { book: Ledger; index: number } | null => {
    for (const book of ledgers.values()) {
      // Reservations settle soon after they are made: search from the newest.
      for (let index = book.rows.length - 1; index >= 0; index--) if (book.rows[index]?.id === id) return { book, index };
    }
    return null;
  };
  return {
    load: (key) => {
      const row = select.get(key);
      return row ? toLaneSnapshot(row) : null;
    },
    save: (key, state, now) => {
      upsert.run(key, state.pausedUntil, state.throttleLimit, state.throttledUntil, now);
    },
    reserve: (key, messageId, recipients, at) => {
      const book = ledger(key, at);
      // Rows past the rolling day no longer count: the table stays as small as a day's traffic.
      pruneUsage.run(key, at - DAY_MS);
      const id = Number(insertUsage.run(key, messageId, at, recipients).lastInsertRowid);
      // Kept in time order (a clock set back must not hide a reservation from the pruning above).
      let index = book.rows.length;
      while (index > 0 && (book.rows[index - 1]?.at ?? -Infinity) > at) index--;
      book.rows.splice(index, 0, { id, at, recipients });
      book.used += recipients;
      return id;
    },
    settle: (reservationId, reserved, accepted) => {
      // The usual case (every recipient accepted) writes nothing: one commit less per message.
      if (accepted === reserved) return;
      if (accepted > 0) settleUsage.run(accepted, reservationId);
      else removeUsage.run(reservationId);
      const found = findReservation(reservationId);
      if (!found) return;
      const row = found.book.rows[found.index] as Ledger['rows'][number];
      found.book.used += accepted - row.recipients;
      if (accepted > 0) row.recipients = accepted;
      else found.book.rows.splice(found.index, 1);
    },
    fitsAt: (key, needed, perDay, now) => {
      const book = ledger(key, now);
      let used = book.used;
      let at = now;
      for (const row of book.rows) {
        if (used + needed <= perDay) break;
        used -= row.recipients;
        at = row.at + DAY_MS;
      }
      // A message larger than the whole daily budget goes once nothing else counts.
      return at;
    },
    startsSince: (key, since) => (startsSince.get(key, since) as { n: number }).n,
  };
}
