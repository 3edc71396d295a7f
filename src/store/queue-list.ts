/**
 * The relay log's query, built once for both engines: newest first, filtered
 * by server, status, and a prefix of the envelope sender or of a recipient
 * (case-insensitive), paged by keyset. A dialect says how an engine writes a
 * parameter, a prefix match its index serves, and text compared byte by byte.
 */
import type { ListFilter } from './queue-types.js';

/** How one engine writes the parts of the query that differ. */
export interface ListDialect {
  /** The placeholder of the `n`th parameter, from 1. */
  param(n: number): string;
  /** `column` starts with the LIKE pattern in `param`, ignoring case, so the engine's prefix index serves it. */
  startsWith(column: string, param: string): string;
  /** `column` ordered and compared by its bytes (SQLite's BINARY collation), whatever the database's collation. */
  binary(column: string): string;
}

/** SQLite: `?` parameters; LIKE ignores ASCII case and uses the NOCASE indexes (see MIGRATIONS); text compares by bytes. */
export const SQLITE_LIST: ListDialect = {
  param: () => '?',
  startsWith: (column, param) => `${column} LIKE ${param} ESCAPE '\\'`,
  binary: (column) => column,
};

/** A LIKE pattern matching text that starts with `prefix`, its wildcards escaped. */
const startsWith = (prefix: string): string => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

/** The relay log's query for `filter` in `dialect`: newest first, every filter served by an index. */
export function listQuery(filter: ListFilter, dialect: ListDialect = SQLITE_LIST): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return dialect.param(params.length);
  };
  if (filter.serverId !== undefined) where.push(`server_id = ${param(filter.serverId)}`);
  if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
  // Prefix matches become index range searches; `%…%` would scan every row.
  if (filter.sender) where.push(dialect.startsWith('mail_from', param(startsWith(filter.sender))));
  if (filter.recipient) {
    where.push(`id IN (SELECT message_id FROM recipients WHERE ${dialect.startsWith('address', param(startsWith(filter.recipient)))})`);
  }
  const id = dialect.binary('id');
  if (filter.after) {
    // Keyset pagination in the list's own order: later pages stay right while new mail arrives.
    const at = filter.after.receivedAt;
    where.push(`(received_at < ${param(at)} OR (received_at = ${param(at)} AND ${id} < ${param(filter.after.id)}))`);
  }
  const limit = param(filter.limit ?? 200);
  const sql = `SELECT * FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, ${id} DESC LIMIT ${limit}`;
  return { sql, params };
}
