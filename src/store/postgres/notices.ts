/**
 * Delivery status notifications owed on PostgreSQL, as src/store/notices.ts
 * records them in SQLite: at most one per message and kind, recorded in the
 * transaction of the outcome that makes it owed (`oweIn`), kept until the
 * notice itself is queued. The queue repository carries this one as its
 * `notices`.
 */
import type { Async } from '../async.js';
import { toOwedNotice, type NoticeRepo, type NoticeRow, type OwedNotice } from '../notices.js';
import type { Pg, Sql } from './pool.js';

/** Records a notice as owed through `sql`; false when the message already has one of its kind (never twice). */
export async function oweIn(sql: Sql, n: OwedNotice): Promise<boolean> {
  const changed = await sql.run(
    `INSERT INTO notices (message_id, kind, notice_id, headers, owed_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (message_id, kind) DO NOTHING`,
    [n.messageId, n.kind, n.noticeId, n.headers, n.owedAt],
  );
  return changed > 0;
}

/** Creates the notice repository over the pool. */
export function createPgNoticeRepo(pg: Pg): Async<NoticeRepo> {
  return {
    has: async (messageId, kind) =>
      (await pg.row('SELECT 1 FROM notices WHERE message_id = $1 AND kind = $2', [messageId, kind])) !== undefined,
    owe: (n) => oweIn(pg, n),
    owed: async (limit = 100) =>
      (await pg.rows<NoticeRow>('SELECT * FROM notices WHERE done_at IS NULL ORDER BY owed_at LIMIT $1', [limit])).map(toOwedNotice),
    done: async (messageId, kind, detail, now) => {
      // One statement: only the call that marks the notice done writes its event, however many
      // instances finish the same notice at once.
      await pg.run(
        `WITH done AS (
           UPDATE notices SET done_at = $1, headers = NULL WHERE message_id = $2 AND kind = $3 AND done_at IS NULL RETURNING message_id)
         INSERT INTO events (message_id, server_id, at, kind, detail)
         SELECT m.id, m.server_id, $1, 'notice', $4 FROM messages m JOIN done ON done.message_id = m.id`,
        [now, messageId, kind, detail],
      );
    },
  };
}
