/**
 * The members of a cluster on PostgreSQL (see ../instances.ts). Joining takes
 * a transaction-scoped advisory lock, so of two instances starting at the same
 * moment the second sees the first.
 */
import type { Async } from '../async.js';
import { MEMBER_SQL, toMember, type InstanceRepo, type MemberRow } from '../instances.js';
import type { PgContext } from './context.js';
import { LOCK_SQL, LOCKS } from './locks.js';
import { numbered } from './pool.js';

export function createPgInstancesRepo({ pg }: PgContext): Async<InstanceRepo> {
  return {
    join: (id, version, now, aliveSince) =>
      pg.tx(async (sql) => {
        await sql.run(LOCK_SQL, [LOCKS.join]);
        const others = await sql.rows<MemberRow>(numbered(MEMBER_SQL.others), [id, aliveSince]);
        await sql.run(numbered(MEMBER_SQL.upsert), [id, version, now, now]);
        return others.map(toMember);
      }),
    heartbeat: async (id, now) => {
      await pg.run(numbered(MEMBER_SQL.heartbeat), [now, id]);
    },
    leave: async (id, now) => {
      await pg.run(numbered(MEMBER_SQL.leave), [now, now, id]);
    },
    list: async () => (await pg.rows<MemberRow>(MEMBER_SQL.list)).map(toMember),
  };
}
