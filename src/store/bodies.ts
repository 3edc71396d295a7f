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
  /**
   * Stores one chunk: its own commit while DATA streams (the group commit's WAL sync makes it durable
   * with the record), or part of the queue's insert for a message's last chunk.
   */
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

/** Creates the bodies' repository. */
export function createBodyRepo(db: Db): BodyRepo {
  const insert = db.prepare<[string, number, Buffer]>('INSERT INTO message_bodies (message_id, seq, bytes) VALUES (?, ?, ?)');
  const select = db.prepare<[string, number], { bytes: Buffer }>('SELECT bytes FROM message_bodies WHERE message_id = ? AND seq = ?');
  const exists = db.prepare<[string]>('SELECT 1 FROM message_bodies WHERE message_id = ? AND seq = 0');
  const remove = db.prepare<[string]>('DELETE FROM message_bodies WHERE message_id = ?');
  return {
    append: (c) => {
      insert.run(c.messageId, c.seq, c.bytes);
    },
    chunk: (messageId, seq) => select.get(messageId, seq)?.bytes,
    remove: (messageId) => {
      remove.run(messageId);
    },
    removeOrphans: db.transaction((): number => {
      const orphan = `message_id NOT IN (SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed'))`;
      const { n } = db.prepare(`SELECT COUNT(DISTINCT message_id) AS n FROM message_bodies WHERE ${orphan}`).get() as { n: number };
      db.prepare(`DELETE FROM message_bodies WHERE ${orphan}`).run();
      return n;
    }),
    has: (messageId) => exists.get(messageId) !== undefined,
  };
}
