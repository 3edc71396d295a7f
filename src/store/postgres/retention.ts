/**
 * Retention in PostgreSQL: the same repository as SQLite's (../retention.ts).
 * Each batch is one short transaction; the finished messages it takes are
 * locked with SKIP LOCKED, so two instances pruning at once take different
 * batches instead of waiting on each other, and mail still waiting is never
 * selected. Recipients go with their message (ON DELETE CASCADE).
 *
 * What differs from SQLite, and why:
 * - `checkpoint` does nothing: the server's checkpointer writes the WAL into
 *   the data files on its own schedule, and autovacuum makes the pruned rows'
 *   space reusable; an application has no WAL file of its own to bound.
 * - `stats().bytes` is `pg_database_size(current_database())`: the tables,
 *   indexes and TOAST of this database on the server. The server's WAL is
 *   shared by all of its databases and not counted.
 */
import type { Async } from '../async.js';
import type { RetentionRepo } from '../retention.js';
import type { PgContext } from './context.js';

/** Creates the retention repository over the pool. */
export function createPgRetentionRepo({ pg }: PgContext): Async<RetentionRepo> {
  return {
    pruneBatch: (cutoff, limit) =>
      pg.tx(async (sql) => {
        // Served by messages_status_received; a finished message never changes status again.
        const ids = (
          await sql.rows<{ id: string }>(
            `SELECT id FROM messages WHERE status IN ('delivered', 'failed') AND received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
            [cutoff, limit],
          )
        ).map((r) => r.id);
        let events = 0;
        if (ids.length > 0) {
          events += await sql.run('DELETE FROM events WHERE message_id = ANY($1::text[])', [ids]);
          await sql.run('DELETE FROM messages WHERE id = ANY($1::text[])', [ids]);
        }
        // Only once old messages are gone: until then every one of their events would be looked at here.
        if (ids.length < limit) {
          // A waiting message keeps its events. An event of no message (message_id NULL) matches none, so
          // NOT EXISTS alone takes it too; without SQLite's `IS NULL OR` PostgreSQL plans an anti-join
          // probing messages' key, instead of hashing every message id for each batch.
          events += await sql.run(
            `DELETE FROM events WHERE id IN (
               SELECT e.id FROM events e
               WHERE e.at < $1 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = e.message_id)
               LIMIT $2)`,
            [cutoff, limit],
          );
          // In one statement: the refusals table is capped at REFUSAL_ROW_CAP rows.
          await sql.run('DELETE FROM refusals WHERE last_at < $1', [cutoff]);
        }
        return { messages: ids.length, events };
      }),
    checkpoint: async () => undefined,
    stats: async () => {
      const row = await pg.row<{ bytes: number; messages: number }>(
        'SELECT pg_database_size(current_database()) AS bytes, (SELECT COUNT(*) FROM messages) AS messages',
      );
      return { bytes: row?.bytes ?? 0, messages: row?.messages ?? 0 };
    },
  };
}
