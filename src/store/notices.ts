/**
 * Delivery status notifications a message owes its envelope sender: at most
 * one per message and kind, recorded in the transaction that records the
 * failure (or the long deferral), with the original header block, until the
 * notice itself is queued. Whatever a stop or a crash left owed is found
 * again at start-up.
 */
import type { Db } from './db.js';

/** `failed`: recipients failed for good; `delayed`: the message has waited for hours (RFC 3464 Action values). */
export type NoticeKind = 'failed' | 'delayed';

export interface OwedNotice {
  messageId: string;
  kind: NoticeKind;
  /** The notice's own queue ID, reserved when it became owed: queueing it again after a crash finds it. */
  noticeId: string;
  /** The original message's header block, for the notice's `text/rfc822-headers` part. */
  headers: Buffer;
  owedAt: number;
}

export interface NoticeRepo {
  /** True when the message owes, or has had, a notice of this kind. */
  has(messageId: string, kind: NoticeKind): boolean;
  /** Records a notice as owed; false when the message already has one of this kind (never twice). */
  owe(notice: OwedNotice): boolean;
  /** Notices still owed, oldest first. */
  owed(limit?: number): OwedNotice[];
  /**
   * Marks a notice done (queued, or given up) and drops its header block; `detail` becomes a
   * `notice` event on the original message. One transaction.
   */
  done(messageId: string, kind: NoticeKind, detail: string, now: number): void;
}

/** A row of `notices` as both engines read it. */
export interface NoticeRow {
  message_id: string;
  kind: NoticeKind;
  notice_id: string;
  headers: Buffer | null;
  owed_at: number;
}

/** A still owed notice as the relay sees it (its header block is dropped once the notice is done). */
export function toOwedNotice(row: NoticeRow): OwedNotice {
  return {
    messageId: row.message_id,
    kind: row.kind,
    noticeId: row.notice_id,
    headers: row.headers ?? Buffer.alloc(0),
    owedAt: row.owed_at,
  };
}

/** Creates the notice repository over an open database. */
export function createNoticeRepo(db: Db): NoticeRepo {
  const selectOne = db.prepare<[string, NoticeKind]>('SELECT 1 FROM notices WHERE message_id = ? AND kind = ?');
  const insert = db.prepare<[string, NoticeKind, string, Buffer, number]>(
    'INSERT OR IGNORE INTO notices (message_id, kind, notice_id, headers, owed_at) VALUES (?, ?, ?, ?, ?)',
  );
  const selectOwed = db.prepare<[number], NoticeRow>('SELECT * FROM notices WHERE done_at IS NULL ORDER BY owed_at LIMIT ?');
  const markDone = db.prepare<[number, string, NoticeKind]>(
    'UPDATE notices SET done_at = ?, headers = NULL WHERE message_id = ? AND kind = ? AND done_at IS NULL',
  );
  const insertEvent = db.prepare<[number, string, string]>(
    `INSERT INTO events (message_id, server_id, at, kind, detail) SELECT id, server_id, ?, 'notice', ? FROM messages WHERE id = ?`,
  );

  return {
    has: (messageId, kind) => selectOne.get(messageId, kind) !== undefined,
    owe: (n) => insert.run(n.messageId, n.kind, n.noticeId, n.headers, n.owedAt).changes > 0,
    owed: (limit = 100) => selectOwed.all(limit).map(toOwedNotice),
    done: db.transaction((messageId: string, kind: NoticeKind, detail: string, now: number) => {
      if (markDone.run(now, messageId, kind).changes > 0) insertEvent.run(now, detail, messageId);
    }),
  };
}
