/**
 * Message bodies on PostgreSQL, as src/store/bodies.ts keeps them in SQLite:
 * chunks of a message's bytes, the earlier ones appended while DATA streams
 * (each its own commit), the last one in the queue's insert of the record
 * (`appendChunks` inside its transaction). A chunk is read back on its own, so
 * a large body never sits whole in memory. The bytes are stored out of line
 * and uncompressed (see the schema). Each chunk names the instance receiving
 * it, so another instance starting up leaves it alone.
 */
import type { Async } from '../async.js';
import { ORPHANS_SQL, orphansParams, type BodyChunk, type BodyRepo } from '../bodies.js';
import type { PgContext } from './context.js';
import { numbered, type Sql } from './pool.js';

/**
 * Stores chunks received by instance `receivedBy` through `sql` (the queue's insert runs it in its
 * transaction): one statement, however many. Each chunk is a parameter of its own, which the
 * driver sends as binary; in an array it would travel as hex text, twice its size.
 */
export async function appendChunks(sql: Sql, receivedBy: string, chunks: readonly BodyChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  const rows = chunks.map((_, i) => `($${3 * i + 2}, $${3 * i + 3}, $${3 * i + 4}, $1)`);
  await sql.run(`INSERT INTO message_bodies (message_id, seq, bytes, received_by) VALUES ${rows.join(', ')}`, [
    receivedBy,
    ...chunks.flatMap((c) => [c.messageId, c.seq, c.bytes]),
  ]);
}

/** Deletes the bodies of `messageIds` through `sql` (the queue's failures and removals run it in their transactions). */
export async function removeBodies(sql: Sql, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length > 0) await sql.run('DELETE FROM message_bodies WHERE message_id = ANY($1::text[])', [messageIds]);
}

/** Creates the bodies' repository over the pool. */
export function createPgBodiesRepo({ pg, instanceId }: PgContext): Async<BodyRepo> {
  return {
    append: (chunk) => appendChunks(pg, instanceId, [chunk]),
    chunk: async (messageId, seq) =>
      (await pg.row<{ bytes: Buffer }>('SELECT bytes FROM message_bodies WHERE message_id = $1 AND seq = $2', [messageId, seq]))?.bytes,
    remove: (messageId) => removeBodies(pg, [messageId]),
    removeOrphans: async (now) => {
      // One statement: what it counts is what it deleted. This belongs to start-up, before this
      // instance accepts any DATA. A body another running instance is still receiving has no record
      // yet: ORPHANS_SQL keeps it by the receiver its chunks name.
      const row = await pg.row<{ n: number }>(
        `WITH gone AS (DELETE FROM message_bodies WHERE ${numbered(ORPHANS_SQL)} RETURNING message_id)
         SELECT COUNT(DISTINCT message_id) AS n FROM gone`,
        orphansParams(instanceId, now),
      );
      return row?.n ?? 0;
    },
    has: async (messageId) => (await pg.row('SELECT 1 FROM message_bodies WHERE message_id = $1 AND seq = 0', [messageId])) !== undefined,
  };
}
