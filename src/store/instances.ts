/**
 * The members of a cluster: every relay365 instance that runs on the store,
 * its version, when it started and its last heartbeat. With SQLite there is
 * one member, the relay of the data folder; with PostgreSQL, every instance
 * started with the same RELAY365_DATABASE_URL. `cluster status` and the panel
 * list them; a member whose heartbeat stopped is shown as gone.
 */
import type { Db } from './db.js';

/**
 * A member without a heartbeat for this long is gone (died, or its machine did). Until then it
 * counts as running: `cluster status` shows it so, and another instance's start-up leaves alone
 * the message bodies it is receiving (src/store/bodies.ts).
 */
export const MEMBER_STALE_MS = 30_000;

export interface Member {
  id: string;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  /** When it stopped cleanly; null while it runs, or when it died without saying so. */
  stoppedAt: number | null;
  /** Messages it has claimed and is delivering now (with a lease it renews). */
  delivering: number;
}

/** An `instances` row, as both engines read it. */
export interface MemberRow {
  id: string;
  version: string;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
  /** Only in `list`: its messages in flight. */
  delivering?: number;
}

export const toMember = (row: MemberRow): Member => ({
  id: row.id,
  version: row.version,
  startedAt: row.started_at,
  heartbeatAt: row.heartbeat_at,
  stoppedAt: row.stopped_at,
  delivering: row.delivering ?? 0,
});

export interface InstanceRepo {
  /**
   * Records instance `id` as started at `now` (a restart replaces its row) and returns the other
   * members that were alive at `aliveSince` (a heartbeat since then, not stopped), decided under
   * one lock so two instances starting together see each other.
   */
  join(id: string, version: string, now: number, aliveSince: number): Member[];
  heartbeat(id: string, now: number): void;
  /** A clean stop. */
  leave(id: string, now: number): void;
  /** Every member ever recorded, the most recently seen first, with what each is delivering. */
  list(): Member[];
}

/** The SQL both engines run, with `?` placeholders. */
export const MEMBER_SQL = {
  others: 'SELECT * FROM instances WHERE id <> ? AND heartbeat_at >= ? AND stopped_at IS NULL ORDER BY id',
  upsert: `INSERT INTO instances (id, version, started_at, heartbeat_at, stopped_at) VALUES (?, ?, ?, ?, NULL)
    ON CONFLICT (id) DO UPDATE SET version = excluded.version, started_at = excluded.started_at,
      heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
  heartbeat: 'UPDATE instances SET heartbeat_at = ? WHERE id = ?',
  leave: 'UPDATE instances SET heartbeat_at = ?, stopped_at = ? WHERE id = ?',
  list: `SELECT i.*, (SELECT COUNT(*) FROM messages m WHERE m.status = 'sending' AND m.claimed_by = i.id) AS delivering
    FROM instances i ORDER BY i.heartbeat_at DESC, i.id`,
} as const;

/** Creates the repository over an open database. */
export function createInstanceRepo(db: Db): InstanceRepo {
  return {
    join: db.transaction((id: string, version: string, now: number, aliveSince: number) => {
      const others = db.prepare<[string, number], MemberRow>(MEMBER_SQL.others).all(id, aliveSince).map(toMember);
      db.prepare(MEMBER_SQL.upsert).run(id, version, now, now);
      return others;
    }),
    heartbeat: (id, now) => {
      db.prepare(MEMBER_SQL.heartbeat).run(now, id);
    },
    leave: (id, now) => {
      db.prepare(MEMBER_SQL.leave).run(now, now, id);
    },
    list: () => db.prepare<[], MemberRow>(MEMBER_SQL.list).all().map(toMember),
  };
}
