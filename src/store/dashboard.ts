/**
 * The admin panel's dashboard figures: the queue by status, messages per hour
 * over the last 24 hours by outcome, and the oldest message still waiting;
 * and the waiting mail per server, status and size that /metrics reports.
 * Every query is answered from an index (see MIGRATIONS), so the dashboard
 * stays fast on a relay log of hundreds of thousands of messages. The shapes
 * and the assembly of rows into figures here serve PostgreSQL's engine too
 * (postgres/dashboard.ts).
 */
import type { Db } from './db.js';
import type { MessageStatus } from './queue-types.js';

export const HOUR_MS = 60 * 60_000;
/** The chart's window: this many clock hours, the last one the current (partial) hour. */
export const HOURS = 24;

/** Statuses of mail that has not reached its end yet. */
export const WAITING_STATUSES = ['queued', 'deferred', 'sending', 'held'] as const satisfies readonly MessageStatus[];
export type WaitingStatus = (typeof WAITING_STATUSES)[number];

/** What a message's attempts came to within one hour. */
export const OUTCOMES = ['delivered', 'deferred', 'held', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Messages now waiting, by status. */
export type QueueCounts = Record<WaitingStatus, number>;

/**
 * One clock hour of the chart: how many messages reached each outcome in it. A message delivered to
 * some recipients and refused for others counts under both; one deferred twice in the hour, once.
 */
export interface HourlyBucket {
  /** Start of the hour (ms since the epoch, on a UTC hour). */
  start: number;
  delivered: number;
  deferred: number;
  held: number;
  failed: number;
}

export interface OldestWaiting {
  id: string;
  serverId: number | null;
  status: WaitingStatus;
  subject: string | null;
  receivedAt: number;
}

/** Waiting messages of one email server (null: its server was removed) in one status, and their bytes. */
export interface WaitingGroup {
  serverId: number | null;
  status: WaitingStatus;
  messages: number;
  bytes: number;
}

export interface DashboardRepo {
  /** Waiting messages by status. */
  queueCounts(): QueueCounts;
  /** Waiting messages per email server and status, with their size (what /metrics reports). */
  waitingGroups(): WaitingGroup[];
  /** Waiting messages (any waiting status) per email server id. */
  waitingByServer(): Map<number, number>;
  /** The 24 clock hours ending with the one `now` is in, oldest first, each counted by outcome. */
  hourly(now: number): HourlyBucket[];
  /** The waiting message received first, or null when nothing waits. */
  oldestWaiting(): OldestWaiting | null;
}

/** Start of the first hour of the chart's window that ends with the hour `now` is in. */
export function windowStart(now: number): number {
  return Math.floor(now / HOUR_MS) * HOUR_MS - (HOURS - 1) * HOUR_MS;
}

/** The waiting statuses as an SQL list: `'queued', 'deferred', …`. */
export const WAITING_LIST = WAITING_STATUSES.map((s) => `'${s}'`).join(', ');

/** The dashboard's SQL, each served by an index (the store's tests check every plan). */
export const DASHBOARD_SQL = {
  // messages_status_received: one index range per waiting status.
  waiting: `SELECT status, COUNT(*) AS n FROM messages WHERE status IN (${WAITING_LIST}) GROUP BY status`,
  waitingByServer: `SELECT server_id, COUNT(*) AS n FROM messages
    WHERE status IN (${WAITING_LIST}) AND server_id IS NOT NULL GROUP BY server_id`,
  waitingGroups: `SELECT server_id AS serverId, status, COUNT(*) AS messages, COALESCE(SUM(size), 0) AS bytes
    FROM messages WHERE status IN (${WAITING_LIST}) GROUP BY server_id, status`,
  // One hour each: a GROUP BY over a computed hour would sort every row of the window, a range per hour
  // does not. A recipient's done_at is when its delivery or failure was recorded (recipients_done covers it).
  hourDone: `SELECT status AS outcome, COUNT(DISTINCT message_id) AS n FROM recipients
    WHERE status IN ('delivered', 'failed') AND done_at >= ? AND done_at < ? GROUP BY status`,
  // Deferrals and holds leave no column behind, only events (events_at).
  hourWaits: `SELECT kind AS outcome, COUNT(DISTINCT message_id) AS n FROM events
    WHERE at >= ? AND at < ? AND kind IN ('deferred', 'held') GROUP BY kind`,
  // One LIMIT 1 probe of messages_status_received per waiting status, instead of sorting every waiting message.
  oldestWaiting: `SELECT * FROM (${WAITING_STATUSES.map(
    (s) =>
      `SELECT * FROM (SELECT id, server_id, status, subject, received_at FROM messages WHERE status = '${s}' ORDER BY received_at LIMIT 1)`,
  ).join(' UNION ALL ')}) ORDER BY received_at LIMIT 1`,
} as const;

/** How many messages reached one outcome within one hour. */
export interface OutcomeRow {
  outcome: Outcome;
  n: number;
}

/** An outcome's count in the hour that starts at `start`. */
export interface HourRow extends OutcomeRow {
  start: number;
}

/** The waiting message the dashboard shows, as both engines read it. */
export interface OldestRow {
  id: string;
  server_id: number | null;
  status: WaitingStatus;
  subject: string | null;
  received_at: number;
}

/** Every waiting status with its count (0 for those no row names). */
export function toQueueCounts(rows: readonly { status: WaitingStatus; n: number }[]): QueueCounts {
  const counts: QueueCounts = { queued: 0, deferred: 0, sending: 0, held: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/** The chart's 24 hours ending with the one `now` is in, each with the counts `rows` give it (0 for the others). */
export function hourlyBuckets(now: number, rows: readonly HourRow[]): HourlyBucket[] {
  const buckets = hourStarts(now).map((start): HourlyBucket => ({ start, delivered: 0, deferred: 0, held: 0, failed: 0 }));
  const first = windowStart(now);
  for (const row of rows) {
    const bucket = buckets[(row.start - first) / HOUR_MS];
    if (bucket) bucket[row.outcome] = row.n;
  }
  return buckets;
}

/** The start of each of the chart's hours, oldest first. */
export function hourStarts(now: number): number[] {
  return Array.from({ length: HOURS }, (_, i) => windowStart(now) + i * HOUR_MS);
}

export const toOldest = (row: OldestRow): OldestWaiting => ({
  id: row.id,
  serverId: row.server_id,
  status: row.status,
  subject: row.subject,
  receivedAt: row.received_at,
});

/** Creates the dashboard's queries over an open database. */
export function createDashboardRepo(db: Db): DashboardRepo {
  const selectWaiting = db.prepare<[], { status: WaitingStatus; n: number }>(DASHBOARD_SQL.waiting);
  const selectWaitingByServer = db.prepare<[], { server_id: number; n: number }>(DASHBOARD_SQL.waitingByServer);
  const selectWaitingGroups = db.prepare<[], WaitingGroup>(DASHBOARD_SQL.waitingGroups);
  const selectDone = db.prepare<[number, number], OutcomeRow>(DASHBOARD_SQL.hourDone);
  const selectWaits = db.prepare<[number, number], OutcomeRow>(DASHBOARD_SQL.hourWaits);
  const selectOldest = db.prepare<[], OldestRow>(DASHBOARD_SQL.oldestWaiting);

  return {
    queueCounts: () => toQueueCounts(selectWaiting.all()),
    waitingGroups: () => selectWaitingGroups.all(),
    waitingByServer: () => new Map(selectWaitingByServer.all().map((r) => [r.server_id, r.n])),
    hourly: (now) =>
      hourlyBuckets(
        now,
        hourStarts(now).flatMap((start) =>
          [...selectDone.all(start, start + HOUR_MS), ...selectWaits.all(start, start + HOUR_MS)].map((row) => ({ ...row, start })),
        ),
      ),
    oldestWaiting: () => {
      const row = selectOldest.get();
      return row ? toOldest(row) : null;
    },
  };
}
