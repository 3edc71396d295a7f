/**
 * `relay365 store copy --to postgres://…`: moves a single-node relay's SQLite
 * database (settings, users, tokens, the queue with its message bodies, the
 * relay log, alerts, refusals) into an empty PostgreSQL database, in one
 * PostgreSQL transaction, so a copy cut short leaves the target empty. Both
 * engines have the same tables and columns (test/store/postgres/schema.test.ts),
 * so every table is copied column for column; secrets stay sealed with the
 * same key. The source is read in one SQLite read transaction: a consistent
 * snapshot even while a relay still runs on the folder, and the copy refuses
 * to call itself done when mail arrived meanwhile.
 */
import type { Db } from './db.js';
import type { Pg, Sql } from './postgres/pool.js';

/**
 * Tables in an order that satisfies the foreign keys. `health_probe`, `alert_settings` and the
 * schema's own bookkeeping are seeded by the target's migrations: their rows are replaced.
 * `instances` and `leases` are not copied: the cluster's membership and its leases start with the
 * instances that run on it.
 */
const TABLES = [
  'servers',
  'token_caches',
  'users',
  'setup_tokens',
  'sessions',
  'oauth_states',
  'relay_users',
  'relay_networks',
  'auth_failures',
  'auth_lockouts',
  'messages',
  'recipients',
  'events',
  'notices',
  'message_bodies',
  'lane_state',
  'lane_usage',
  'alert_settings',
  'alerts',
  'api_tokens',
  'refusals',
  'meta',
] as const;

/** Rows the target's migrations insert themselves; anything else makes it not empty. */
const SEEDED = new Set(['health_probe', 'alert_settings']);

/** At most this many parameters per INSERT (PostgreSQL allows 65,535) and this many bytes of values. */
const MAX_PARAMS = 30_000;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export interface CopySummary {
  /** Rows copied, by table, in copy order. */
  rows: Record<string, number>;
  /** Bytes of message bodies copied. */
  bodyBytes: number;
}

/** The copy cannot run or cannot be trusted: the message says why and what to do. */
export class StoreCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreCopyError';
  }
}

/** The tables of the target that hold rows (other than the seeded ones). */
async function occupied(sql: Sql): Promise<string[]> {
  const found: string[] = [];
  for (const table of TABLES) {
    if (SEEDED.has(table)) continue;
    if (await sql.row(`SELECT 1 FROM ${table} LIMIT 1`)) found.push(table);
  }
  return found;
}

const valueBytes = (value: unknown): number => (Buffer.isBuffer(value) ? value.length : typeof value === 'string' ? value.length : 8);

/** Copies one table's rows in batches; returns the count and the bytes of values. */
async function copyTable(source: Db, sql: Sql, table: string): Promise<{ rows: number; bytes: number }> {
  const columns = source
    .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`)
    .all()
    .map((c) => c.name);
  const list = columns.map((c) => `"${c}"`).join(', ');
  let batch: unknown[][] = [];
  let batchBytes = 0;
  let rows = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const params: unknown[] = [];
    const tuples = batch.map((row) => `(${row.map((value) => `$${params.push(value)}`).join(', ')})`);
    await sql.run(`INSERT INTO ${table} (${list}) VALUES ${tuples.join(', ')}`, params);
    batch = [];
    batchBytes = 0;
  };
  const perBatch = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  for (const row of source.prepare(`SELECT ${list} FROM ${table}`).raw().iterate() as IterableIterator<unknown[]>) {
    const size = row.reduce<number>((sum, value) => sum + valueBytes(value), 0);
    batch.push(row);
    batchBytes += size;
    bytes += size;
    rows++;
    if (batch.length >= perBatch || batchBytes >= MAX_BATCH_BYTES) await flush();
  }
  await flush();
  // Identity columns continue after the copied ids.
  const sequence = (
    await sql.row<{ name: string }>(
      `SELECT pg_get_serial_sequence($1, 'id') AS name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id' AND is_identity = 'YES'`,
      [table],
    )
  )?.name;
  if (typeof sequence === 'string') {
    await sql.run(`SELECT setval($1, GREATEST((SELECT MAX(id) FROM ${table}), 1), (SELECT MAX(id) FROM ${table}) IS NOT NULL)`, [sequence]);
  }
  return { rows, bytes };
}

/** What tells whether the source changed during the copy: its messages and events. */
function sourceMark(source: Db): string {
  const row = source.prepare('SELECT (SELECT COUNT(*) FROM messages) AS m, (SELECT MAX(id) FROM events) AS e').get() as {
    m: number;
    e: number | null;
  };
  return `${row.m}/${row.e ?? 0}`;
}

/**
 * Copies `source` (a migrated SQLite database) into `target` (a migrated, empty PostgreSQL
 * database). Refuses a target that holds anything, and rolls the copy back (StoreCopyError) when
 * mail arrived at or left the source during the copy.
 */
export async function copyStore(source: Db, target: Pg): Promise<CopySummary> {
  return target.tx(async (sql) => {
    const full = await occupied(sql);
    if (full.length > 0) {
      throw new StoreCopyError(`the target database is not empty (it has ${full.join(', ')}): copy only into a new, empty database`);
    }
    for (const table of SEEDED) await sql.run(`DELETE FROM ${table}`);
    await sql.run('INSERT INTO health_probe (id, checked_at) VALUES (1, 0)');
    const summary: CopySummary = { rows: {}, bodyBytes: 0 };
    // One read transaction: every table is read from the snapshot its first read takes.
    source.exec('BEGIN');
    let snapshot: string;
    try {
      snapshot = sourceMark(source);
      for (const table of TABLES) {
        const { rows, bytes } = await copyTable(source, sql, table);
        summary.rows[table] = rows;
        if (table === 'message_bodies') summary.bodyBytes = bytes;
      }
    } finally {
      source.exec('COMMIT');
    }
    // Read again outside the snapshot: a relay still running on the folder shows here.
    if (sourceMark(source) !== snapshot) {
      throw new StoreCopyError(
        'relay365 is still running on this data folder: mail arrived or was delivered during the copy, so nothing was copied; stop relay365 and copy again',
      );
    }
    return summary;
  });
}
