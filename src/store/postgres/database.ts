/**
 * The database as a whole, on PostgreSQL. A commit is durable when it returns
 * (`synchronous_commit = on`, see pool.ts), so there is no log for the relay
 * to sync before its `250` and no checkpoint timer to run: the server does both.
 * The integrity check asks whether the server answers and the schema is this
 * relay365's; PostgreSQL keeps its pages checksummed and consistent itself.
 */
import type { Async } from '../async.js';
import type { DatabaseRepo } from '../database.js';
import type { PgContext } from './context.js';
import { PG_MIGRATIONS } from './schema.js';

/** SQLSTATEs and driver errors name the problem without any data; a lost connection has no SQLSTATE. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'database unreachable';
}

export function createPgDatabaseRepo({ pg }: PgContext): Async<DatabaseRepo> {
  return {
    facts: async () => {
      const row = await pg.row<{ version: string; ms: string }>(
        "SELECT current_setting('server_version') AS version, (extract(epoch from clock_timestamp()) * 1000)::text AS ms",
      );
      return { engine: 'PostgreSQL', version: row?.version ?? 'unknown', clockMs: Math.round(Number(row?.ms)) };
    },
    integrity: async () => {
      const row = await pg.row<{ version: number }>('SELECT version FROM schema_version');
      return row?.version === PG_MIGRATIONS.length ? null : `schema version ${row?.version ?? 'missing'}, expected ${PG_MIGRATIONS.length}`;
    },
    probeWrite: async (at) => {
      try {
        const changed = await pg.run('UPDATE health_probe SET checked_at = $1 WHERE id = 1', [at]);
        return changed === 1 ? { kind: 'written' } : { kind: 'no-probe-row' };
      } catch (err) {
        return { kind: 'refused', code: errorCode(err) };
      }
    },
    startWalSync: async () => () => undefined,
    syncWal: async () => undefined,
    close: async () => undefined,
    sizeBytes: async () => (await pg.row<{ bytes: number }>('SELECT pg_database_size(current_database()) AS bytes'))?.bytes ?? 0,
  };
}
