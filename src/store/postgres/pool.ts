/**
 * The PostgreSQL engine's connection: a pool of `pg` clients, the queries the
 * repositories run through it, and transactions that are retried when
 * PostgreSQL asks for it (a serialization failure or a deadlock). Every commit
 * waits for the server's WAL flush (`synchronous_commit = on`, set per
 * connection so a server default of `off` cannot weaken the `250` promise).
 * BIGINT columns (every time in milliseconds) read as JavaScript numbers.
 */
import pg from 'pg';

/** What a repository runs a statement through: the pool, or one transaction's client. */
export interface Sql {
  /** Runs `text` with `$1…` parameters; the rows it returns. */
  rows<T>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** The first row, or undefined. */
  row<T>(text: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs `text`; the number of rows it changed. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
}

export interface Pg extends Sql {
  /** Runs `work` in one transaction, retried (whole) when PostgreSQL reports a serialization failure or deadlock. */
  tx<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** `sql` with its `?` placeholders numbered as PostgreSQL's `$1, $2…` (for SQL both engines share; no `?` inside literals). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** SQLSTATEs after which the same transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRIES = 5;

/** PostgreSQL's int8 (OID 20) as a number: times in ms and counts stay far below 2^53. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function over(client: pg.Pool | pg.PoolClient): Sql {
  const query = (text: string, params: readonly unknown[] = []) => client.query({ text, values: params as unknown[] });
  // A statement's rows are whatever its SELECT names: the caller says their shape, as with better-sqlite3.
  const rows = async <T>(text: string, params?: readonly unknown[]): Promise<T[]> => (await query(text, params)).rows as T[];
  return {
    rows,
    row: async <T>(text: string, params?: readonly unknown[]) => (await rows<T>(text, params))[0],
    run: async (text, params) => (await query(text, params)).rowCount ?? 0,
  };
}

export interface PgOptions {
  /** Shown in `pg_stat_activity` (the instance's id). */
  applicationName: string;
  /** Clients in the pool. */
  max?: number;
}

/** A pool over `url`; nothing connects until the first query. */
export function openPool(url: string, { applicationName, max = 10 }: PgOptions): Pg {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    options: '-c synchronous_commit=on -c timezone=UTC',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    types,
  });
  // A client that loses its connection while idle in the pool is dropped by the pool; without a
  // listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  const tx = async <T>(work: (sql: Sql) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A connection that dies while its client is checked out (the server stopped mid-transaction)
      // emits 'error' on the client, which pg-pool listens to only while the client is idle: without
      // this listener the event would end the process. The statement in progress rejects with it too.
      const lost = (err: Error): void => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(over(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
          broken = rollbackErr as Error;
        });
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_TRIES || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    }
  };
  return { ...over(pool), tx, pool, close: () => pool.end() };
}
