/**
 * Message bodies: the bytes relay365 forwards (our Received: header and the
 * client's message), kept in the database in chunks. The relay appends a
 * message's chunks while DATA streams and commits its last chunk together with
 * its queue record (`QueueRepo.insert`), so a record never exists without its
 * whole body. Chunks are read back one point lookup at a time, so a 35 MB
 * message never sits whole in memory. A body whose message is no longer
 * waiting or in flight is removed by its delivery's outcome, or at start-up.
 */
import type { Db } from './db.js';

/** One piece of a message's body; `seq` counts from 0 in the order of the bytes. */
export interface BodyChunk {
  messageId: string;
  seq: number;
  bytes: Buffer;
}

export interface BodyRepo {
  /** Stores one chunk (its own commit, which the group commit's WAL sync makes durable with the record). */
  append(chunk: BodyChunk): void;
  /** The chunk `seq` of a message's body; undefined past its last chunk. */
  chunk(messageId: string, seq: number): Buffer | undefined;
  /** Deletes a message's body (refused, delivered, failed or deleted). */
  remove(messageId: string): void;
  /** Deletes the bodies of messages that are not waiting or in flight (a crash mid-DATA, a removal cut short); returns how many. */
  removeOrphans(): number;
  /** Whether a message has a body. */
  has(messageId: string): boolean;
}

/** Creates the bodies' repository; `insertChunk` is shared with the queue's insert (one transaction with the record). */
export function createBodyRepo(db: Db): BodyRepo & { insertChunk: (chunk: BodyChunk) => void } {
  const insert = db.prepare<[string, number, Buffer]>('INSERT INTO message_bodies (message_id, seq, bytes) VALUES (?, ?, ?)');
  const select = db.prepare<[string, number], { bytes: Buffer }>('SELECT bytes FROM message_bodies WHERE message_id = ? AND seq = ?');
  const exists = db.prepare<[string]>('SELECT 1 FROM message_bodies WHERE message_id = ? AND seq = 0');
  const remove = db.prepare<[string]>('DELETE FROM message_bodies WHERE message_id = ?');
  const insertChunk = (c: BodyChunk): void => {
    insert.run(c.messageId, c.seq, c.bytes);
  };
  return {
    insertChunk,
    append: insertChunk,
    chunk: (messageId, seq) => select.get(messageId, seq)?.bytes,
    remove: (messageId) => {
      remove.run(messageId);
    },
    removeOrphans: () => {
      const orphans = db
        .prepare<[], { id: string }>(
          `SELECT DISTINCT message_id AS id FROM message_bodies
           WHERE message_id NOT IN (SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed'))`,
        )
        .all();
      db.transaction(() => {
        for (const { id } of orphans) remove.run(id);
      })();
      return orphans.length;
    },
    has: (messageId) => exists.get(messageId) !== undefined,
  };
}
