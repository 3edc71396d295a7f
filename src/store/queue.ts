/**
 * The queue: messages, their recipients and their event log. Queue state is
 * columns (status, attempts, next_attempt_at), so a restart resumes exactly
 * where the store says.
 */
import type { BodyChunk, BodyRepo } from './bodies.js';
import type { Db } from './db.js';
import type { LaneStateRepo } from './lane-state.js';
import { createNoticeRepo, type NoticeRepo } from './notices.js';
import { listQuery } from './queue-list.js';
import {
  answers,
  CLAIM_LEASE_MS,
  CLAIM_LOST,
  firstState,
  isStopping,
  owedNotice,
  QUEUE_EVENT,
  receivedDetail,
  settledOutcome,
  stoppedOutcome,
  type Outcome,
} from './queue-outcome.js';
import {
  toEvent,
  toMessage,
  toStatusCounts,
  type MessageStatus,
  type RecipientStatus,
  type EventKind,
  type NewMessage,
  type QueuedMessage,
  type Recipient,
  type MessageEvent,
  type ListFilter,
  type AttemptResult,
  type MessageRow,
  type EventRow,
  type NoticeCandidate,
  type RecordedOutcome,
} from './queue-types.js';

export type {
  MessageStatus,
  RecipientStatus,
  EventKind,
  NewMessage,
  QueuedMessage,
  Recipient,
  MessageEvent,
  ListFilter,
  AttemptResult,
  NoticeCandidate,
  RecordedOutcome,
} from './queue-types.js';
export { listQuery } from './queue-list.js';

export interface QueueRepo {
  /**
   * Records a batch of accepted messages in one transaction, with the last chunk of each body
   * (`chunks`; the earlier ones were appended while DATA streamed).
   */
  insert(messages: NewMessage[], chunks?: BodyChunk[]): void;
  /** Earliest next attempt among a server's waiting messages, or null. */
  nextDueAt(serverId: number): number | null;
  /** Due waiting messages of any of `serverIds` (a mailbox's lane), oldest due first, without claiming them. */
  peekDue(serverIds: number[], now: number, limit: number): QueuedMessage[];
  /** Marks one waiting message as sending and counts the attempt; undefined when it is no longer waiting. */
  claim(id: string, now: number): QueuedMessage | undefined;
  /**
   * Claims a message and reserves its `recipients` against the lane's daily quota in one
   * transaction; undefined (and nothing reserved) when it is no longer waiting.
   */
  claimAndReserve(id: string, lane: string, recipients: number, now: number): { message: QueuedMessage; reservationId: number } | undefined;
  /** Takes back the attempt counted for a claim that turned out to be a held-mail probe; nothing once the claim is lost (CLAIM_HELD_SQL). */
  forgetAttempt(id: string): void;
  get(id: string): QueuedMessage | undefined;
  recipients(id: string): Recipient[];
  pendingRecipients(id: string): string[];
  /**
   * Applies an attempt's outcome: recipient states, message state, events; the message's new state.
   * Only while this instance still holds the message's claim (CLAIM_HELD_SQL): otherwise nothing is
   * written and the answer is CLAIM_LOST.
   */
  recordAttempt(id: string, result: AttemptResult, now: number): MessageStatus;
  /**
   * Applies an attempt's outcome as `recordAttempt` does and, in the same transaction, records the
   * notice it makes owed, so a crash keeps both or neither. A notice that cannot be recorded never
   * undoes the outcome: `noticeError` says why. A lost claim records neither (status CLAIM_LOST).
   */
  recordOutcome(id: string, result: AttemptResult, now: number, notice: NoticeCandidate): RecordedOutcome;
  /** True when any recipient of the message failed for good. */
  anyFailed(id: string): boolean;
  /** Delivery status notifications the messages owe their senders. */
  notices: NoticeRepo;
  /** Puts all waiting mail of a server on hold (its authorization failed). */
  holdServer(serverId: number, reply: string, now: number): number;
  /** Makes a server's held mail due now; returns how many were released. */
  releaseHeld(serverId: number, now: number, limit?: number): number;
  /** Crash recovery: messages left "sending" are queued again. */
  requeueInFlight(now: number): number;
  /**
   * Extends to `now + CLAIM_LEASE_MS` the leases of `ids`, the messages this instance has attempts
   * running for; how many. A claim whose attempt ended without its outcome recorded (the database
   * failed) is not among them: its lease runs out and the message is queued again.
   */
  renewLeases(ids: readonly string[], now: number): number;
  /** Queues again the messages whose claim's lease ran out before `now` (their instance died); how many. */
  requeueExpired(now: number): number;
  /** Marks a message failed without an attempt (its body is gone). */
  markLost(id: string, reason: string, now: number): void;
  /** Fails every queued, deferred or held message of a server with `reason`, deleting their bodies; returns their IDs. */
  failWaiting(serverId: number, reason: string, now: number): string[];
  /** IDs of the messages waiting or in flight that have no body (start-up recovery fails them). */
  bodilessIds(): string[];
  list(filter?: ListFilter): QueuedMessage[];
  events(id: string): MessageEvent[];
  addEvent(messageId: string | null, serverId: number | null, kind: EventKind, detail: string | null, now: number): void;
  /** Makes a deferred or held message due now; false when it is not waiting. */
  retryNow(id: string, now: number): boolean;
  /** Makes every deferred and held message (only held ones with `heldOnly`) due now, of one server or all; returns how many. */
  retryWaiting(filter: { serverId?: number; heldOnly?: boolean }, by: string, now: number): number;
  /** Deletes a message that is not in flight, with its recipients and body; false when in flight or unknown. */
  remove(id: string, now: number): boolean;
  /** Events after `afterId`, oldest first (the live log tail). */
  eventsSince(afterId: number, limit?: number): MessageEvent[];
  countsByStatus(serverId?: number): Record<MessageStatus, number>;
}

const DUE_STATUSES = ['queued', 'deferred'] as const satisfies readonly MessageStatus[];
const WAITING = `status IN (${DUE_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/**
 * Statements the scheduler runs for every message it delivers. Each must read a few rows however
 * long the queue and the retained history (test/store/delivery-path.test.ts checks their plans).
 * In the recipients queries the unary `+` before `status` keeps SQLite on the primary key
 * (message_id, address): otherwise it picks recipients_done (status, done_at) and reads every
 * pending (or delivered) recipient of the whole queue for one message.
 */
export const DELIVERY_PATH_SQL = {
  /** One (server, status) range of due messages in index order; peekDue merges them. */
  due: 'SELECT * FROM messages WHERE server_id = ? AND status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, received_at LIMIT ?',
  pendingRecipients: `SELECT address FROM recipients WHERE message_id = ? AND +status = 'pending'`,
  anyDelivered: `SELECT 1 FROM recipients WHERE message_id = ? AND +status = 'delivered' LIMIT 1`,
  anyFailed: `SELECT 1 FROM recipients WHERE message_id = ? AND +status = 'failed' LIMIT 1`,
  nextDueAt: `SELECT MIN(next_attempt_at) AS t FROM messages WHERE server_id = ? AND ${WAITING}`,
} as const;

/**
 * Whether this instance (the one `?`) still holds a message's claim and may record its attempt's
 * outcome, for both engines. A claim that ran out was queued again, maybe claimed by another
 * instance and delivered since; the requeue keeps `claimed_by`, so such a message shows as no
 * longer this instance's. A message nobody claimed (a test email, which its sender delivers at
 * once, or a row older than claims) has no claim to lose.
 */
export const CLAIM_HELD_SQL = `(claimed_by IS NULL OR (claimed_by = ? AND status = 'sending'))`;

/** Messages waiting or in flight without the first chunk of a body, for both engines. */
export const BODILESS_SQL = `SELECT id FROM messages m WHERE status NOT IN ('delivered', 'failed')
         AND NOT EXISTS (SELECT 1 FROM message_bodies b WHERE b.message_id = m.id AND b.seq = 0) ORDER BY id`;

/** Creates the queue repository over an open database; claims reserve through `laneState`; bodies are stored and removed with their records. */
export function createQueueRepo(
  db: Db,
  laneState: Pick<LaneStateRepo, 'reserve'>,
  bodies: Pick<BodyRepo, 'append' | 'remove'>,
  owner: string,
): QueueRepo {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, server_id, mail_from, size, subject, header_message_id, client_address, client_helo,
       route, relay_user, status, attempts, next_attempt_at, received_at, expires_at, updated_at, body_8bit, smtputf8)
     VALUES (@id, @serverId, @mailFrom, @size, @subject, @headerMessageId, @clientAddress, @clientHelo,
       @route, @relayUser, @status, @attempts, @receivedAt, @receivedAt, @expiresAt, @receivedAt, @body8bit, @smtputf8)`,
  );
  const insertRecipient = db.prepare<[string, string]>(`INSERT OR IGNORE INTO recipients (message_id, address) VALUES (?, ?)`);
  const insertEvent = db.prepare<[string | null, number | null, number, EventKind, string | null]>(
    'INSERT INTO events (message_id, server_id, at, kind, detail) VALUES (?, ?, ?, ?, ?)',
  );
  const selectDue = db.prepare<[number, string, number, number], MessageRow>(DELIVERY_PATH_SQL.due);
  const selectOne = db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE id = ?');
  const selectRecipients = db.prepare<[string], Recipient>(
    'SELECT address, status, reply FROM recipients WHERE message_id = ? ORDER BY address',
  );
  const selectPending = db.prepare<[string], { address: string }>(DELIVERY_PATH_SQL.pendingRecipients);
  const setRecipient = db.prepare<[RecipientStatus, string, number, string, string]>(
    'UPDATE recipients SET status = ?, reply = ?, done_at = ? WHERE message_id = ? AND address = ?',
  );
  const setMessage = db.prepare<[MessageStatus, number, string, number, string]>(
    'UPDATE messages SET status = ?, next_attempt_at = ?, last_reply = ?, updated_at = ? WHERE id = ?',
  );
  // Statements on the scheduler's path (every pump) are prepared once.
  const selectNextDue = db.prepare<[number], { t: number | null }>(DELIVERY_PATH_SQL.nextDueAt);
  const selectWaitingIds = db.prepare<[number], { id: string }>(`SELECT id FROM messages WHERE server_id = ? AND ${WAITING}`);
  const selectAnyDelivered = db.prepare<[string]>(DELIVERY_PATH_SQL.anyDelivered);
  const selectAnyFailed = db.prepare<[string]>(DELIVERY_PATH_SQL.anyFailed);
  // `claimed_by` stays: an outcome its claimer records late must see the claim is no longer its own (CLAIM_HELD_SQL).
  const markQueued = db.prepare<[number, number, string]>(
    `UPDATE messages SET status = 'queued', next_attempt_at = ?, updated_at = ? WHERE id = ?`,
  );
  const selectEvents = db.prepare<[string], EventRow>('SELECT * FROM events WHERE message_id = ? ORDER BY id');
  const selectEventsSince = db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?');
  const serverOf = (id: string): number | null => selectOne.get(id)?.server_id ?? null;
  const selectClaim = db.prepare<[string, string], { server_id: number | null; held: number }>(
    `SELECT server_id, ${CLAIM_HELD_SQL} AS held FROM messages WHERE id = ?`,
  );
  const claimOne = db.prepare<[number, string, number, string], MessageRow>(
    `UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = ?, claimed_by = ?, lease_until = ?
     WHERE id = ? AND ${WAITING} RETURNING *`,
  );
  const claim = (id: string, now: number): MessageRow | undefined => claimOne.get(now, owner, now + CLAIM_LEASE_MS, id);

  /** Queues again the messages `where` (with `params`) selects, each with an event saying why; how many. */
  const requeueSending = db.transaction((where: string, params: unknown[], now: number, detail: string): number => {
    const rows = db.prepare(`SELECT id, server_id FROM messages WHERE ${where}`).all(...params) as {
      id: string;
      server_id: number | null;
    }[];
    for (const { id, server_id } of rows) {
      markQueued.run(now, now, id);
      insertEvent.run(id, server_id, now, 'requeued', detail);
    }
    return rows.length;
  });

  /** Writes an outcome's message columns and event; its status. */
  const writeOutcome = (id: string, serverId: number | null, outcome: Outcome, now: number): MessageStatus => {
    setMessage.run(outcome.status, outcome.nextAttemptAt, outcome.lastReply, now, id);
    if (outcome.event) insertEvent.run(id, serverId, now, outcome.event.kind, outcome.event.detail);
    return outcome.status;
  };
  /** Fails the message's pending recipients with `reply`. */
  const failPending = (id: string, reply: string, now: number): void => {
    for (const { address } of selectPending.all(id)) setRecipient.run('failed', reply, now, id, address);
  };

  /** An attempt's outcome: recipient states, message state, events (inside the caller's transaction). */
  const applyAttempt = (id: string, result: AttemptResult, now: number): MessageStatus => {
    const row = selectClaim.get(owner, id);
    if (row?.held !== 1) return CLAIM_LOST;
    const serverId = row.server_id;
    if (isStopping(result)) {
      if (result.kind === 'expire') failPending(id, result.reply, now);
      return writeOutcome(id, serverId, stoppedOutcome(result, now), now);
    }
    const answered = answers(result);
    for (const r of answered) setRecipient.run(r.status, r.reply, now, id, r.address);
    for (const { event } of answered) insertEvent.run(id, serverId, now, event.kind, event.detail);
    const pending = selectPending.all(id).length;
    return writeOutcome(id, serverId, settledOutcome(result, now, pending, selectAnyDelivered.get(id) !== undefined), now);
  };
  const notices = createNoticeRepo(db);

  return {
    insert: db.transaction((messages: NewMessage[], chunks: BodyChunk[] = []) => {
      for (const chunk of chunks) bodies.append(chunk);
      for (const m of messages) {
        insertMessage.run({ ...m, ...firstState(m) });
        for (const rcpt of m.recipients) insertRecipient.run(m.id, rcpt);
        insertEvent.run(m.id, m.serverId, m.receivedAt, 'received', receivedDetail(m));
      }
    }),
    nextDueAt: (serverId) => selectNextDue.get(serverId)?.t ?? null,
    peekDue: (serverIds, now, limit) => {
      // One ordered index range per (server, status), each cut at the limit, then merged: a look at a
      // lane reads a few rows however long the queue is. One query with IN lists sorts every due row.
      const due: MessageRow[] = [];
      for (const serverId of serverIds) for (const status of DUE_STATUSES) due.push(...selectDue.all(serverId, status, now, limit));
      due.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.received_at - b.received_at);
      return due.slice(0, limit).map(toMessage);
    },
    claim: (id, now) => {
      const row = claim(id, now);
      return row ? toMessage(row) : undefined;
    },
    claimAndReserve: db.transaction((id: string, lane: string, recipients: number, now: number) => {
      const row = claim(id, now);
      return row ? { message: toMessage(row), reservationId: laneState.reserve(lane, id, recipients, now) } : undefined;
    }),
    forgetAttempt: (id) => {
      db.prepare(`UPDATE messages SET attempts = MAX(attempts - 1, 0) WHERE id = ? AND ${CLAIM_HELD_SQL}`).run(id, owner);
    },
    get: (id) => {
      const row = selectOne.get(id);
      return row ? toMessage(row) : undefined;
    },
    recipients: (id) => selectRecipients.all(id),
    pendingRecipients: (id) => selectPending.all(id).map((r) => r.address),
    recordAttempt: db.transaction(applyAttempt),
    recordOutcome: db.transaction((id: string, result: AttemptResult, now: number, notice: NoticeCandidate): RecordedOutcome => {
      const status = applyAttempt(id, result, now);
      const kind = owedNotice(notice, status, notice.failed && selectAnyFailed.get(id) !== undefined);
      if (kind === null) return { status, owed: null, noticeError: null };
      try {
        const owed = notices.owe({ messageId: id, kind, noticeId: notice.noticeId, headers: notice.headers, owedAt: now });
        return { status, owed: owed ? kind : null, noticeError: null };
      } catch (err) {
        // SQLite undoes the failed statement alone: the outcome stays recorded.
        return { status, owed: null, noticeError: (err as Error).message };
      }
    }),
    anyFailed: (id) => selectAnyFailed.get(id) !== undefined,
    notices,
    holdServer: db.transaction((serverId: number, reply: string, now: number) => {
      const ids = selectWaitingIds.all(serverId);
      for (const { id } of ids) {
        setMessage.run('held', now, reply, now, id);
        insertEvent.run(id, serverId, now, 'held', reply);
      }
      return ids.length;
    }),
    releaseHeld: db.transaction((serverId: number, now: number, limit = -1) => {
      const ids = db
        .prepare(`SELECT id FROM messages WHERE server_id = ? AND status = 'held' ORDER BY received_at LIMIT ?`)
        .all(serverId, limit) as { id: string }[];
      for (const { id } of ids) {
        markQueued.run(now, now, id);
        insertEvent.run(id, serverId, now, 'released', QUEUE_EVENT.released);
      }
      return ids.length;
    }),
    // One relay runs on a data folder (src/cluster/membership.ts): at its start nothing is in flight,
    // whoever claimed it.
    requeueInFlight: (now) => requeueSending(`status = 'sending'`, [], now, QUEUE_EVENT.requeued),
    renewLeases: (ids, now) =>
      db
        .prepare(
          `UPDATE messages SET lease_until = ? WHERE status = 'sending' AND claimed_by = ? AND id IN (SELECT value FROM json_each(?))`,
        )
        .run(now + CLAIM_LEASE_MS, owner, JSON.stringify(ids)).changes,
    requeueExpired: (now) => requeueSending(`status = 'sending' AND lease_until < ?`, [now], now, QUEUE_EVENT.expired),
    markLost: (id, reason, now) => {
      db.transaction(() => {
        failPending(id, reason, now);
        setMessage.run('failed', now, reason, now, id);
        insertEvent.run(id, serverOf(id), now, 'failed', reason);
      })();
    },
    failWaiting: db.transaction((serverId: number, reason: string, now: number) => {
      const ids = db.prepare(`SELECT id FROM messages WHERE server_id = ? AND status IN ('queued', 'deferred', 'held')`).all(serverId) as {
        id: string;
      }[];
      for (const { id } of ids) {
        failPending(id, reason, now);
        setMessage.run('failed', now, reason, now, id);
        insertEvent.run(id, serverId, now, 'failed', reason);
        bodies.remove(id);
      }
      return ids.map((r) => r.id);
    }),
    bodilessIds: () => (db.prepare(BODILESS_SQL).all() as { id: string }[]).map((r) => r.id),
    list: (filter = {}) => {
      const { sql, params } = listQuery(filter);
      return (db.prepare(sql).all(...params) as MessageRow[]).map(toMessage);
    },
    events: (id) => selectEvents.all(id).map(toEvent),
    eventsSince: (afterId, limit = 200) => selectEventsSince.all(afterId, limit).map(toEvent),
    retryNow: (id, now) =>
      db
        .prepare(
          `UPDATE messages SET status = 'queued', next_attempt_at = ?, updated_at = ? WHERE id = ? AND status IN ('deferred', 'held', 'queued')`,
        )
        .run(now, now, id).changes > 0,
    retryWaiting: db.transaction((filter: { serverId?: number; heldOnly?: boolean }, by: string, now: number) => {
      const statuses = filter.heldOnly ? `status = 'held'` : `status IN ('deferred', 'held')`;
      const rows = (
        filter.serverId === undefined
          ? db.prepare(`SELECT id, server_id FROM messages WHERE ${statuses}`).all()
          : db.prepare(`SELECT id, server_id FROM messages WHERE ${statuses} AND server_id = ?`).all(filter.serverId)
      ) as { id: string; server_id: number | null }[];
      for (const row of rows) {
        markQueued.run(now, now, row.id);
        insertEvent.run(row.id, row.server_id, now, 'released', QUEUE_EVENT.retried(by));
      }
      return rows.length;
    }),
    remove: db.transaction((id: string, now: number) => {
      const serverId = serverOf(id);
      const deleted = db.prepare(`DELETE FROM messages WHERE id = ? AND status != 'sending'`).run(id).changes > 0;
      if (deleted) {
        insertEvent.run(id, serverId, now, 'deleted', QUEUE_EVENT.deleted);
        bodies.remove(id);
      }
      return deleted;
    }),
    addEvent: (messageId, serverId, kind, detail, now) => {
      insertEvent.run(messageId, serverId, now, kind, detail);
    },
    countsByStatus: (serverId) =>
      toStatusCounts(
        (serverId === undefined
          ? db.prepare('SELECT status, COUNT(*) AS n FROM messages GROUP BY status').all()
          : db.prepare('SELECT status, COUNT(*) AS n FROM messages WHERE server_id = ? GROUP BY status').all(serverId)) as {
          status: MessageStatus;
          n: number;
        }[],
      ),
  };
}
