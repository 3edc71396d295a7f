/**
 * One schema, two engines: PostgreSQL's migrations end with the tables and
 * columns SQLite's do, so the repositories of both read and write the same
 * shapes (and `store copy` can move every row).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES, openEngineStore, type EngineStore } from '../../helpers/engines.js';
import type { SqliteStore } from '../../../src/store/index.js';
import type { PostgresStore } from '../../../src/store/postgres/index.js';

const opened: EngineStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.cleanup()));
});

async function sqliteColumns(): Promise<Record<string, string[]>> {
  const { store } = await openEngineStore('sqlite').then((s) => (opened.push(s), s));
  const db = (store as SqliteStore).db;
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all();
  return Object.fromEntries(
    tables.map(({ name }) => [
      name,
      db
        .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}') ORDER BY name`)
        .all()
        .map((c) => c.name),
    ]),
  );
}

describe.skipIf(!ENGINES.includes('postgres'))('the PostgreSQL schema', () => {
  it('has every table and column of the SQLite schema, and no other', async () => {
    const pgStore = await openEngineStore('postgres').then((s) => (opened.push(s), s));
    const { pg } = pgStore.store as PostgresStore;
    const rows = await pg.rows<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY table_name, column_name`,
    );
    const columns: Record<string, string[]> = {};
    for (const { table_name, column_name } of rows) (columns[table_name] ??= []).push(column_name);
    expect(columns).toEqual(await sqliteColumns());
  });
});
