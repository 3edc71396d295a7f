/**
 * Message bodies: the bytes relay365 forwards (our Received: header and the
 * client's message), kept in the database in chunks. The relay appends a
 * message's chunks while DATA streams and commits its last chunk together with
 * its queue record (`QueueRepo.insert`), so a record never exists without its
 * whole body. Chunks are read back one point lookup at a time, so a 35 MB
 * message never sits whole in memory. A body whose message is no longer
 * waiting or in flight is removed by its delivery's outcome, or at start-up.
 * Each chunk names the instance receiving it: several instances may share a
 * PostgreSQL database, and one starting up leaves alone the bodies another
 * one is still receiving.
 */
import type { Db } from './db.js';
import { MEMBER_STALE_MS } from './instances.js';

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
  /**
   * At start-up, before this instance receives any mail: deletes the bodies of messages that are not
   * waiting or in flight (a crash mid-DATA, a removal cut short) unless another running instance is
   * receiving them (ORPHANS_SQL); returns how many.
   */
  removeOrphans(now: number): number;
  /** Whether a message has a body. */
  has(messageId: string): boolean;
}

/**
 * Which chunks start-up may delete, for both engines; its parameters are this instance and the
 * oldest heartbeat of a running one (`now - MEMBER_STALE_MS`). A chunk of no message waiting or in
 * flight goes when this instance received it (in an earlier run: this one has accepted nothing
 * yet), when its receiver is not recorded (a row older than the column), or when its receiver no
 * longer runs: no member row, stopped, or its heartbeat stale. A running instance's chunks stay:
 * their message's record comes with the last chunk, at the end of its DATA.
 */
export const ORPHANS_SQL = `message_id NOT IN (SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed'))
  AND (received_by IS NULL OR received_by = ?
    OR received_by NOT IN (SELECT id FROM instances WHERE stopped_at IS NULL AND heartbeat_at >= ?))`;

/** The parameters of ORPHANS_SQL for instance `instanceId` at `now`. */
export const orphansParams = (instanceId: string, now: number): [string, number] => [instanceId, now - MEMBER_STALE_MS];

/** Creates the bodies' repository; its chunks are recorded as received by `instanceId`. */
export function createBodyRepo(db: Db, instanceId: string): BodyRepo {
  const insert = db.prepare<[string, number, Buffer, string]>(
    'INSERT INTO message_bodies (message_id, seq, bytes, received_by) VALUES (?, ?, ?, ?)',
  );
  const select = db.prepare<[string, number], { bytes: Buffer }>('SELECT bytes FROM message_bodies WHERE message_id = ? AND seq = ?');
  const exists = db.prepare<[string]>('SELECT 1 FROM message_bodies WHERE message_id = ? AND seq = 0');
  const remove = db.prepare<[string]>('DELETE FROM message_bodies WHERE message_id = ?');
  return {
    append: (c) => {
      insert.run(c.messageId, c.seq, c.bytes, instanceId);
    },
    chunk: (messageId, seq) => select.get(messageId, seq)?.bytes,
    remove: (messageId) => {
      remove.run(messageId);
    },
    removeOrphans: db.transaction((now: number): number => {
      const params = orphansParams(instanceId, now);
      const { n } = db.prepare(`SELECT COUNT(DISTINCT message_id) AS n FROM message_bodies WHERE ${ORPHANS_SQL}`).get(...params) as {
        n: number;
      };
      db.prepare(`DELETE FROM message_bodies WHERE ${ORPHANS_SQL}`).run(...params);
      return n;
    }),
    has: (messageId) => exists.get(messageId) !== undefined,
  };
}
