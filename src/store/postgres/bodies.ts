/**
 * Message bodies on PostgreSQL, as src/store/bodies.ts keeps them in SQLite:
 * chunks of a message's bytes, the earlier ones appended while DATA streams
 * (each its own commit), the last one in the queue's insert of the record
 * (`appendChunks` inside its transaction). A chunk is read back on its own, so
 * a large body never sits whole in memory. The bytes are stored out of line
 * and uncompressed (see the schema).
 */
import type { Async } from '../async.js';
import type { BodyChunk, BodyRepo } from '../bodies.js';
import type { PgContext } from './context.js';
import type { Sql } from './pool.js';

/**
 * Stores chunks through `sql` (the queue's insert runs it in its transaction): one statement,
 * however many. Each chunk is a parameter of its own, which the driver sends as binary; in an
 * array it would travel as hex text, twice its size.
 */
export async function appendChunks(sql: Sql, chunks: readonly BodyChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  const rows = chunks.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`);
  await sql.run(
    `INSERT INTO message_bodies (message_id, seq, bytes) VALUES ${rows.join(', ')}`,
    chunks.flatMap((c) => [c.messageId, c.seq, c.bytes]),
  );
}

/** Deletes the bodies of `messageIds` through `sql` (the queue's failures and removals run it in their transactions). */
export async function removeBodies(sql: Sql, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length > 0) await sql.run('DELETE FROM message_bodies WHERE message_id = ANY($1::text[])', [messageIds]);
}

/** Creates the bodies' repository over the pool. */
export function createPgBodiesRepo({ pg }: PgContext): Async<BodyRepo> {
  return {
    append: (chunk) => appendChunks(pg, [chunk]),
    chunk: async (messageId, seq) =>
      (await pg.row<{ bytes: Buffer }>('SELECT bytes FROM message_bodies WHERE message_id = $1 AND seq = $2', [messageId, seq]))?.bytes,
    remove: (messageId) => removeBodies(pg, [messageId]),
    removeOrphans: async () => {
      // One statement: what it counts is what it deleted. As in SQLite, a body is an orphan unless its
      // message is waiting or in flight, so this belongs to start-up, before any DATA is accepted: a
      // body another instance is still receiving has no record yet and would go too.
      const row = await pg.row<{ n: number }>(
        `WITH gone AS (
           DELETE FROM message_bodies
           WHERE message_id NOT IN (SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed'))
           RETURNING message_id)
         SELECT COUNT(DISTINCT message_id) AS n FROM gone`,
      );
      return row?.n ?? 0;
    },
    has: async (messageId) => (await pg.row('SELECT 1 FROM message_bodies WHERE message_id = $1 AND seq = 0', [messageId])) !== undefined,
  };
}
