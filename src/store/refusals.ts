/**
 * Refused SMTP sessions and transactions, newest first. Kept bounded so that
 * a flood of refusals can neither fill the disk nor slow the relay: the same
 * client refused for the same reason again within a minute of the last time
 * bumps that row's count instead of adding one, the table keeps at most
 * REFUSAL_ROW_CAP rows (the least recent go first), and the retention timer
 * deletes rows older than RELAY365_RETENTION_DAYS (src/store/retention.ts).
 * The row shape, its mapper and the cap's rhythm here serve PostgreSQL's
 * engine too (postgres/refusals.ts).
 */
import type { Db } from './db.js';

/** A refusal the same client gets for the same reason this soon after the last one is counted on that row. */
export const REFUSAL_COALESCE_MS = 60_000;
/** The most rows kept; beyond it the least recently seen are deleted. */
export const REFUSAL_ROW_CAP = 20_000;
/** The cap is enforced each time this many more rows were added, so most batches cost only their inserts and updates. */
const CAP_EVERY = 100;

/** Whether adding the row `id` calls for enforcing the cap (every CAP_EVERY ids). */
export const capDue = (id: number): boolean => id % CAP_EVERY === 0;

/** One refusal, or a run of like ones, as handed to the store (already cleaned by src/relay/refusals.ts). */
export interface RefusalEntry {
  client: string;
  reason: string;
  /** The latest refusal's detail, hint and username. */
  detail: string;
  hint: string | null;
  username: string | null;
  /** How many refusals this entry stands for (1 or more). */
  count: number;
  firstAt: number;
  lastAt: number;
}

/** A stored row: the latest refusal of a run of like ones, with how many there were. */
export interface StoredRefusal extends RefusalEntry {
  id: number;
}

/** Where the previous page ended (the list's own order). */
export interface RefusalCursor {
  lastAt: number;
  id: number;
}

export interface RefusalFilter {
  /** Client addresses that start with this text (lowercase, as the relay records them). */
  client?: string;
  reason?: string;
  /** Only rows listed after this one: the cursor of the previous page. */
  after?: RefusalCursor;
  /** Default 100. */
  limit?: number;
}

export interface RefusalRepo {
  /**
   * Stores refusals in one transaction: each is counted on the row of the same client and reason
   * seen less than a minute before it, or added as a row of its own.
   */
  record(entries: readonly RefusalEntry[]): void;
  /** Rows most recently seen first. */
  list(filter?: RefusalFilter): StoredRefusal[];
}

/** A refusal as both engines store it. */
export interface RefusalRow {
  id: number;
  client: string;
  reason: string;
  detail: string;
  hint: string | null;
  username: string | null;
  count: number;
  first_at: number;
  last_at: number;
}

export const toRefusal = (row: RefusalRow): StoredRefusal => ({
  id: row.id,
  client: row.client,
  reason: row.reason,
  detail: row.detail,
  hint: row.hint,
  username: row.username,
  count: row.count,
  firstAt: row.first_at,
  lastAt: row.last_at,
});

/** The list's query for `filter`: most recently seen first, each filter served by an index. */
export function refusalListQuery(filter: RefusalFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.client) {
    // A range on the (client, …) index: every text that starts with the prefix sorts below prefix + U+10FFFF.
    where.push('client >= ? AND client < ?');
    params.push(filter.client, `${filter.client}\u{10FFFF}`);
  }
  if (filter.reason) {
    where.push('reason = ?');
    params.push(filter.reason);
  }
  if (filter.after) {
    where.push('(last_at < ? OR (last_at = ? AND id < ?))');
    params.push(filter.after.lastAt, filter.after.lastAt, filter.after.id);
  }
  params.push(filter.limit ?? 100);
  const sql = `SELECT * FROM refusals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY last_at DESC, id DESC LIMIT ?`;
  return { sql, params };
}

/** Creates the repository over an open database. */
export function createRefusalRepo(db: Db): RefusalRepo {
  const selectRecent = db.prepare<[string, string, number], { id: number }>(
    'SELECT id FROM refusals WHERE client = ? AND reason = ? AND last_at >= ? ORDER BY last_at DESC LIMIT 1',
  );
  const bump = db.prepare<[number, string, string | null, string | null, number, number]>(
    `UPDATE refusals SET count = count + ?, detail = ?, hint = ?, username = ?, last_at = MAX(last_at, ?) WHERE id = ?`,
  );
  const insert = db.prepare<[string, string, string, string | null, string | null, number, number, number]>(
    `INSERT INTO refusals (client, reason, detail, hint, username, count, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const trim = db.prepare<[number]>(
    'DELETE FROM refusals WHERE id IN (SELECT id FROM refusals ORDER BY last_at DESC, id DESC LIMIT -1 OFFSET ?)',
  );

  return {
    record: db.transaction((entries: readonly RefusalEntry[]): void => {
      let due = false;
      for (const e of entries) {
        const recent = selectRecent.get(e.client, e.reason, e.firstAt - REFUSAL_COALESCE_MS);
        if (recent) {
          bump.run(e.count, e.detail, e.hint, e.username, e.lastAt, recent.id);
          continue;
        }
        const id = Number(insert.run(e.client, e.reason, e.detail, e.hint, e.username, e.count, e.firstAt, e.lastAt).lastInsertRowid);
        due ||= capDue(id);
      }
      if (due) trim.run(REFUSAL_ROW_CAP);
    }),
    list: (filter = {}) => {
      const { sql, params } = refusalListQuery(filter);
      return (db.prepare(sql).all(...params) as RefusalRow[]).map(toRefusal);
    },
  };
}
