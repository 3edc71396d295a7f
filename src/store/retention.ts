/**
 * Keeps the database bounded: delivered and failed messages older than the
 * retention are deleted with their recipients and events, and so are old
 * events that belong to no message (a deleted message's `deleted` event),
 * and refusals last seen before the retention (see refusals.ts).
 * Work is done in small batches, one short transaction each, so the SMTP
 * listener's commits never wait long behind it. Mail still waiting is never
 * touched, however old. Also reports the database's size for the panel.
 */
import { databaseBytes } from './database.js';
import type { Db } from './db.js';

/** Rows deleted by one pruning batch. */
export interface PruneResult {
  messages: number;
  events: number;
}

export interface DatabaseStats {
  /** The database's size, in bytes: SQLite's file and its write-ahead log; PostgreSQL's pg_database_size. */
  bytes: number;
  /** Messages the relay log holds (waiting and finished). */
  messages: number;
}

export interface RetentionRepo {
  /**
   * Deletes up to `limit` finished messages received before `cutoff` (with their recipients and
   * events) or, once none is left, up to `limit` events before `cutoff` whose message is gone
   * and every refusal last seen before `cutoff`; one transaction.
   */
  pruneBatch(cutoff: number, limit: number): PruneResult;
  /**
   * Copies the write-ahead log into the database where no reader needs it (never waits for locks).
   * Nothing to do on PostgreSQL, whose server checkpoints on its own.
   */
  checkpoint(): void;
  stats(): DatabaseStats;
}

/** Creates the retention repository over an open database. */
export function createRetentionRepo(db: Db): RetentionRepo {
  // Served by the (status, received_at) index.
  const selectOld = db.prepare<[number, number], { id: string }>(
    `SELECT id FROM messages WHERE status IN ('delivered', 'failed') AND received_at < ? LIMIT ?`,
  );
  const deleteEventsOf = db.prepare<[string]>('DELETE FROM events WHERE message_id = ?');
  // Recipients go with their message (ON DELETE CASCADE).
  const deleteMessage = db.prepare<[string]>('DELETE FROM messages WHERE id = ?');
  // Served by the events(at) index; a waiting message keeps its events.
  const deleteOrphanEvents = db.prepare<[number, number]>(
    `DELETE FROM events WHERE id IN (
       SELECT e.id FROM events e
       WHERE e.at < ? AND (e.message_id IS NULL OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = e.message_id))
       LIMIT ?)`,
  );
  // In one statement: refusals.ts caps the table at REFUSAL_ROW_CAP rows (20,000 take ~70 ms at worst).
  const deleteOldRefusals = db.prepare<[number]>('DELETE FROM refusals WHERE last_at < ?');
  const countMessages = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM messages');

  return {
    pruneBatch: db.transaction((cutoff: number, limit: number): PruneResult => {
      const ids = selectOld.all(cutoff, limit);
      let events = 0;
      for (const { id } of ids) {
        events += deleteEventsOf.run(id).changes;
        deleteMessage.run(id);
      }
      // Only once old messages are gone: until then every one of their events would be looked at here.
      if (ids.length < limit) {
        events += deleteOrphanEvents.run(cutoff, limit).changes;
        deleteOldRefusals.run(cutoff);
      }
      return { messages: ids.length, events };
    }),
    checkpoint: () => {
      db.pragma('wal_checkpoint(PASSIVE)');
    },
    stats: () => ({
      bytes: databaseBytes(db),
      messages: countMessages.get()?.n ?? 0,
    }),
  };
}
