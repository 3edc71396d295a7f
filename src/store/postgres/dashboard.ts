/**
 * The dashboard's figures in PostgreSQL: the same repository as SQLite's
 * (../dashboard.ts, whose shapes and row assembly it uses). Times are integer
 * milliseconds in both engines, so the chart's clock hours are plain integer
 * ranges here too: `generate_series` over the window's hour starts, each hour
 * counted from an index range (recipients_done, events_at) in one statement
 * instead of SQLite's 48 small ones. Only reads: no transaction needed.
 */
import type { Async } from '../async.js';
import {
  HOUR_MS,
  HOURS,
  WAITING_LIST,
  WAITING_STATUSES,
  hourlyBuckets,
  toOldest,
  toQueueCounts,
  windowStart,
  type DashboardRepo,
  type HourRow,
  type OldestRow,
  type WaitingGroup,
  type WaitingStatus,
} from '../dashboard.js';
import type { PgContext } from './context.js';

const SQL = {
  waiting: `SELECT status, COUNT(*) AS n FROM messages WHERE status IN (${WAITING_LIST}) GROUP BY status`,
  waitingByServer: `SELECT server_id, COUNT(*) AS n FROM messages
    WHERE status IN (${WAITING_LIST}) AND server_id IS NOT NULL GROUP BY server_id`,
  // SUM of a BIGINT is a NUMERIC (read as a string): cast back so the bytes read as a number.
  waitingGroups: `SELECT server_id AS "serverId", status, COUNT(*) AS messages, COALESCE(SUM(size), 0)::bigint AS bytes
    FROM messages WHERE status IN (${WAITING_LIST}) GROUP BY server_id, status ORDER BY server_id NULLS FIRST, status`,
  // $1: the first hour's start, $2: the last one's, $3: an hour. A recipient's done_at is when its delivery
  // or failure was recorded; deferrals and holds leave no column behind, only events.
  hourly: `SELECT h.start, c.outcome, c.n
    FROM generate_series($1::bigint, $2::bigint, $3::bigint) AS h(start)
    CROSS JOIN LATERAL (
      SELECT status AS outcome, COUNT(DISTINCT message_id) AS n FROM recipients
      WHERE status IN ('delivered', 'failed') AND done_at >= h.start AND done_at < h.start + $3 GROUP BY status
      UNION ALL
      SELECT kind, COUNT(DISTINCT message_id) FROM events
      WHERE at >= h.start AND at < h.start + $3 AND kind IN ('deferred', 'held') GROUP BY kind
    ) AS c`,
  // One LIMIT 1 probe of messages_status_received per waiting status: ordering all waiting mail by
  // messages_received instead could walk past every finished message older than the oldest waiting one.
  oldestWaiting: `SELECT * FROM (${WAITING_STATUSES.map(
    (s) => `(SELECT id, server_id, status, subject, received_at FROM messages WHERE status = '${s}' ORDER BY received_at, id LIMIT 1)`,
  ).join(' UNION ALL ')}) AS w ORDER BY received_at, id LIMIT 1`,
} as const;

/** Creates the dashboard's queries over the pool. */
export function createPgDashboardRepo({ pg }: PgContext): Async<DashboardRepo> {
  return {
    queueCounts: async () => toQueueCounts(await pg.rows<{ status: WaitingStatus; n: number }>(SQL.waiting)),
    waitingGroups: () => pg.rows<WaitingGroup>(SQL.waitingGroups),
    waitingByServer: async () =>
      new Map((await pg.rows<{ server_id: number; n: number }>(SQL.waitingByServer)).map((r) => [r.server_id, r.n])),
    hourly: async (now) => {
      const first = windowStart(now);
      return hourlyBuckets(now, await pg.rows<HourRow>(SQL.hourly, [first, first + (HOURS - 1) * HOUR_MS, HOUR_MS]));
    },
    oldestWaiting: async () => {
      const row = await pg.row<OldestRow>(SQL.oldestWaiting);
      return row ? toOldest(row) : null;
    },
  };
}
