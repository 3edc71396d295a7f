/**
 * Refused SMTP sessions in PostgreSQL: the same repository as SQLite's
 * (../refusals.ts, whose row mapper and cap it uses), coalesced and bounded
 * alike. SQLite's single writer makes "find the row seen within the last
 * minute, else add one" safe; here a transaction-level advisory lock does,
 * so two instances refusing the same client at once still count it on one
 * row. A batch is written in as few statements as it allows: one for all its
 * refusals of distinct clients and reasons (what the relay's recorder hands
 * over), instead of two or three per refusal.
 */
import type { Async } from '../async.js';
import {
  REFUSAL_COALESCE_MS,
  REFUSAL_ROW_CAP,
  capDue,
  toRefusal,
  type RefusalEntry,
  type RefusalRepo,
  type RefusalRow,
} from '../refusals.js';
import type { PgContext } from './context.js';
import { LOCK_SQL, LOCKS } from './locks.js';
import type { Sql } from './pool.js';

/**
 * Each refusal is bumped onto the row of its client and reason last seen at most a minute before it
 * (the refusals_client index), or added, in the batch's order. The rows of one statement must name
 * distinct clients and reasons: all of its look-ups see the table as it was before it.
 */
const RECORD = `
  WITH e AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
      WITH ORDINALITY AS e(client, reason, detail, hint, username, count, first_at, last_at, n)
  ), matched AS (
    SELECT e.*, (SELECT r.id FROM refusals r WHERE r.client = e.client AND r.reason = e.reason AND r.last_at >= e.first_at - $9
                 ORDER BY r.last_at DESC, r.id DESC LIMIT 1) AS id
    FROM e
  ), bumped AS (
    UPDATE refusals r SET count = r.count + m.count, detail = m.detail, hint = m.hint, username = m.username,
      last_at = GREATEST(r.last_at, m.last_at)
    FROM matched m WHERE r.id = m.id
  )
  INSERT INTO refusals (client, reason, detail, hint, username, count, first_at, last_at)
  SELECT client, reason, detail, hint, username, count, first_at, last_at FROM matched WHERE id IS NULL ORDER BY n
  RETURNING id`;

const TRIM = 'DELETE FROM refusals WHERE id IN (SELECT id FROM refusals ORDER BY last_at DESC, id DESC OFFSET $1)';

/**
 * Every filter is optional (NULL): the statement is planned with the values bound, so an absent
 * filter folds away and a given reason still reads refusals_reason. A client prefix is matched with
 * starts_with, exact under any collation (a range up to prefix + U+10FFFF, as SQLite's BINARY
 * order allows, is not); the table's cap keeps that filter cheap without an index.
 */
const LIST = `SELECT * FROM refusals
  WHERE ($1::text IS NULL OR starts_with(client, $1)) AND ($2::text IS NULL OR reason = $2)
    AND ($3::bigint IS NULL OR (last_at, id) < ($3, $4::bigint))
  ORDER BY last_at DESC, id DESC LIMIT $5`;

/** `entries` cut, in order, into runs without a client and reason twice (usually one run: the whole batch). */
function distinctRuns(entries: readonly RefusalEntry[]): RefusalEntry[][] {
  const runs: RefusalEntry[][] = [];
  let keys = new Set<string>();
  for (const entry of entries) {
    const key = `${entry.client}\n${entry.reason}`;
    const run = runs.at(-1);
    if (run && !keys.has(key)) run.push(entry);
    else {
      runs.push([entry]);
      keys = new Set();
    }
    keys.add(key);
  }
  return runs;
}

/** Records one run of distinct clients and reasons; the ids of the rows it added. */
async function recordRun(sql: Sql, run: readonly RefusalEntry[]): Promise<number[]> {
  const column = <K extends keyof RefusalEntry>(key: K): RefusalEntry[K][] => run.map((e) => e[key]);
  const added = await sql.rows<{ id: number }>(RECORD, [
    column('client'),
    column('reason'),
    column('detail'),
    column('hint'),
    column('username'),
    column('count'),
    column('firstAt'),
    column('lastAt'),
    REFUSAL_COALESCE_MS,
  ]);
  return added.map((r) => r.id);
}

/** Creates the repository over the pool. */
export function createPgRefusalsRepo({ pg }: PgContext): Async<RefusalRepo> {
  return {
    record: async (entries) => {
      if (entries.length === 0) return;
      await pg.tx(async (sql) => {
        // Refusals are written by one instance at a time, as SQLite's single writer does.
        await sql.run(LOCK_SQL, [LOCKS.refusals]);
        let due = false;
        for (const run of distinctRuns(entries)) due = (await recordRun(sql, run)).some(capDue) || due;
        if (due) await sql.run(TRIM, [REFUSAL_ROW_CAP]);
      });
    },
    list: async (filter = {}) =>
      (
        await pg.rows<RefusalRow>(LIST, [
          filter.client || null,
          filter.reason || null,
          filter.after?.lastAt ?? null,
          filter.after?.id ?? null,
          filter.limit ?? 100,
        ])
      ).map(toRefusal),
  };
}
