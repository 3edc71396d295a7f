/**
 * A cluster's leases: named things only one instance may do at a time, such
 * as delivering one mailbox's mail (Microsoft counts its connections and
 * messages per minute) or running a job that must run once (the alerts). An
 * instance takes a lease when it is free (never taken, its holder's time ran
 * out, or it holds it already), renews the ones it holds while it runs, and
 * gives them back when it is done; one that died loses them when their time
 * runs out. An instance that needs a lease another one holds (to run a Send
 * Test Email there) marks it wanted, and the holder lets go once it is idle.
 * With SQLite there is one instance, which takes every lease it asks for.
 */
import type { Db } from './db.js';

/** A lease as `cluster status` shows it. */
export interface Lease {
  name: string;
  /** The instance holding it (or that held it last). */
  holder: string;
  /** When it runs out unless renewed (after a release: when another instance may take it). */
  heldUntil: number;
  /** An instance waiting for it, if any. */
  wantedBy: string | null;
}

/** A lease this instance renewed, and whether another instance waits for it. */
export interface Renewed {
  name: string;
  wanted: boolean;
}

export interface LeaseRepo {
  /**
   * Takes lease `name` for this instance until `heldUntil` when it is free at `now`: null when this
   * instance holds it now, else the instance that does. When another instance holds it and `want`
   * is set, that instance is asked to let go.
   */
  acquire(name: string, now: number, heldUntil: number, want: boolean): string | null;
  /** Extends every lease this instance still holds to `heldUntil`; the ones it holds. */
  renew(heldUntil: number): Renewed[];
  /** Gives lease `name` back if this instance holds it; others may take it from `freeAt`. */
  release(name: string, freeAt: number): void;
  /** Every lease, by name. */
  list(): Lease[];
}

/** A `leases` row, as both engines read it. */
export interface LeaseRow {
  name: string;
  holder: string;
  held_until: number;
  wanted_by: string | null;
}

export const toLease = (row: LeaseRow): Lease => ({
  name: row.name,
  holder: row.holder,
  heldUntil: row.held_until,
  wantedBy: row.wanted_by,
});

export const toRenewed = (row: Pick<LeaseRow, 'name' | 'wanted_by'>): Renewed => ({ name: row.name, wanted: row.wanted_by !== null });

/**
 * The SQL both engines run, with `?` placeholders. Taking a lease is one upsert whose condition is
 * the rule (free, run out, or ours), so two instances racing for it cannot both win. A new holder
 * starts with nobody waiting; a holder renewing keeps the instance waiting for it.
 */
export const LEASE_SQL = {
  take: `INSERT INTO leases (name, holder, held_until, wanted_by) VALUES (?, ?, ?, NULL)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until,
      wanted_by = CASE WHEN leases.holder = excluded.holder THEN leases.wanted_by END
    WHERE leases.holder = excluded.holder OR leases.held_until <= ?
    RETURNING holder`,
  want: 'UPDATE leases SET wanted_by = ? WHERE name = ? RETURNING holder',
  holder: 'SELECT holder FROM leases WHERE name = ?',
  renew: 'UPDATE leases SET held_until = ? WHERE holder = ? RETURNING name, wanted_by',
  release: 'UPDATE leases SET held_until = ?, wanted_by = NULL WHERE name = ? AND holder = ?',
  list: 'SELECT * FROM leases ORDER BY name',
} as const;

/** Creates the repository over an open database; leases are taken as `instanceId`. */
export function createLeaseRepo(db: Db, instanceId: string): LeaseRepo {
  const take = db.prepare<[string, string, number, number], { holder: string }>(LEASE_SQL.take);
  const want = db.prepare<[string, string], { holder: string }>(LEASE_SQL.want);
  const holder = db.prepare<[string], { holder: string }>(LEASE_SQL.holder);
  const renew = db.prepare<[number, string], Pick<LeaseRow, 'name' | 'wanted_by'>>(LEASE_SQL.renew);
  const release = db.prepare<[number, string, string]>(LEASE_SQL.release);
  const list = db.prepare<[], LeaseRow>(LEASE_SQL.list);
  return {
    acquire: db.transaction((name: string, now: number, heldUntil: number, wanted: boolean): string | null => {
      if (take.get(name, instanceId, heldUntil, now)) return null;
      return ((wanted ? want.get(instanceId, name) : holder.get(name)) as { holder: string }).holder;
    }),
    renew: (heldUntil) => renew.all(heldUntil, instanceId).map(toRenewed),
    release: (name, freeAt) => {
      release.run(freeAt, name, instanceId);
    },
    list: () => list.all().map(toLease),
  };
}
