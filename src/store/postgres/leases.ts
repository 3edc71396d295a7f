/**
 * A cluster's leases on PostgreSQL (see ../leases.ts): the same statements,
 * each atomic on its own, so instances racing for a lease need no lock.
 */
import type { Async } from '../async.js';
import { LEASE_SQL, toLease, toRenewed, type LeaseRepo, type LeaseRow } from '../leases.js';
import type { PgContext } from './context.js';
import { numbered } from './pool.js';

export function createPgLeaseRepo({ pg, instanceId }: PgContext): Async<LeaseRepo> {
  return {
    acquire: async (name, now, heldUntil, want) => {
      if (await pg.row(numbered(LEASE_SQL.take), [name, instanceId, heldUntil, now])) return null;
      const other = want
        ? await pg.row<{ holder: string }>(numbered(LEASE_SQL.want), [instanceId, name])
        : await pg.row<{ holder: string }>(numbered(LEASE_SQL.holder), [name]);
      // Gone between the two statements is not possible (leases are never deleted); the row is there.
      return (other as { holder: string }).holder;
    },
    renew: async (heldUntil) =>
      (await pg.rows<Pick<LeaseRow, 'name' | 'wanted_by'>>(numbered(LEASE_SQL.renew), [heldUntil, instanceId])).map(toRenewed),
    release: async (name, freeAt) => {
      await pg.run(numbered(LEASE_SQL.release), [freeAt, name, instanceId]);
    },
    list: async () => (await pg.rows<LeaseRow>(LEASE_SQL.list)).map(toLease),
  };
}
