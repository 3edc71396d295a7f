/**
 * The key check on PostgreSQL: whether a key opens the database's sealed
 * values, tried on the check value in `meta` or, before there is one, on the
 * first sealed secret (the tables and the verdict are key-check.ts's). The
 * schema is always the current one here, so every sealed column exists.
 */
import type { Async } from '../async.js';
import { KEY_CHECK_NAME, keyVerdict, SEALED_COLUMNS, sealedCheckValue, type KeyCheckRepo, type SealedSample } from '../key-check.js';
import type { PgContext } from './context.js';
import type { Sql } from './pool.js';

/** The check value, or without one the first sealed secret; null when nothing is sealed. */
async function sealedSample(sql: Sql): Promise<SealedSample | null> {
  const check = await sql.row<{ value: Buffer }>('SELECT value FROM meta WHERE name = $1', [KEY_CHECK_NAME]);
  if (check) return { value: check.value, isCheck: true };
  for (const [table, column] of SEALED_COLUMNS) {
    // Table and column names come from SEALED_COLUMNS, never from input.
    const row = await sql.row<{ value: Buffer }>(`SELECT ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL LIMIT 1`);
    if (row) return { value: row.value, isCheck: false };
  }
  return null;
}

/** The key check of the database the context's pool reaches, whose secrets its box seals. */
export function createPgKeyCheckRepo({ pg, box }: PgContext): Async<KeyCheckRepo> {
  return {
    verdict: async (other = box) => keyVerdict(await sealedSample(pg), other),
    record: async () => {
      // The first instance's value stays: another starting at the same moment with the same key changes nothing.
      await pg.run('INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [KEY_CHECK_NAME, sealedCheckValue(box)]);
    },
  };
}
