/**
 * Applies the PostgreSQL engine's pending migrations. Instances of a cluster
 * may start together: the first takes an advisory lock for the whole run, the
 * others wait for it and then find nothing left to do. The pending migrations
 * commit together with the new version: a start cut short changes nothing.
 */
import { LOCK_SQL, LOCKS } from './locks.js';
import type { Pg } from './pool.js';
import { PG_MIGRATIONS } from './schema.js';

/** Migrates the database `pg` points at to this relay365's schema; refuses a newer one. */
export async function migratePostgres(pg: Pg, migrations: readonly string[] = PG_MIGRATIONS): Promise<void> {
  await pg.tx(async (sql) => {
    await sql.run(LOCK_SQL, [LOCKS.migration]);
    await sql.run('CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)');
    const current = (await sql.row<{ version: number }>('SELECT version FROM schema_version'))?.version;
    if (current === undefined) await sql.run('INSERT INTO schema_version (version) VALUES (0)');
    const from = current ?? 0;
    if (from > migrations.length) {
      throw new Error(`database schema version ${from} is newer than this relay365 (${migrations.length}); upgrade relay365`);
    }
    for (let version = from; version < migrations.length; version++) {
      await sql.run(migrations[version] as string);
      await sql.run('UPDATE schema_version SET version = $1', [version + 1]);
    }
  });
}
