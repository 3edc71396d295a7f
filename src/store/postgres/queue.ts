/**
 * The queue on PostgreSQL, as src/store/queue.ts keeps it in SQLite: messages,
 * their recipients and their event log, with the same rules (queue-outcome.ts)
 * and the same relay log query (queue-list.ts). Several instances share these
 * rows, so what SQLite's single writer did by reading then writing is one
 * conditional statement here: a claim is an `UPDATE … WHERE status IN (…)
 * RETURNING`, which one instance wins and every other sees fail. Each
 * multi-step write is one transaction, with the body chunks (bodies.ts), the
 * quota reservation (lane-state.ts) and the owed notice (notices.ts) it
 * carries.
 */
import type { Async } from '../async.js';
import type { BodyChunk } from '../bodies.js';
import { BODILESS_SQL, CLAIM_HELD_SQL, type QueueRepo } from '../queue.js';
import { listQuery, type ListDialect } from '../queue-list.js';
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
} from '../queue-outcome.js';
import {
  toEvent,
  toMessage,
  toStatusCounts,
  type AttemptResult,
  type EventKind,
  type EventRow,
  type MessageRow,
  type MessageStatus,
  type NewMessage,
  type Recipient,
} from '../queue-types.js';
import type { PgContext } from './context.js';
import { appendChunks, removeBodies } from './bodies.js';
import { reserveIn } from './lane-state.js';
import { createPgNoticeRepo, oweIn } from './notices.js';
import { numbered, type Sql } from './pool.js';

/**
 * The relay log's query in PostgreSQL: prefixes match `lower(column)`, which the schema's
 * `text_pattern_ops` indexes serve (SQLite's LIKE ignores ASCII case the same way), and IDs order
 * by their bytes as in SQLite, whatever the database's collation.
 */
const PG_LIST: ListDialect = {
  param: (n) => `$${n}`,
  startsWith: (column, param) => `lower(${column}) LIKE lower(${param}) ESCAPE '\\'`,
  binary: (column) => `${column} COLLATE "C"`,
};

/** Statuses of mail waiting for its next attempt, in SQL. */
const DUE = `status IN ('queued', 'deferred')`;

/** One event row to insert. */
interface NewEvent {
  message_id: string | null;
  server_id: number | null;
  at: number;
  kind: EventKind;
  detail: string | null;
}

/**
 * Inserts `rows` into `table` in one statement, each column an array parameter unnested in row
 * order (so events get their ids in the order given). `types` names the columns and their types.
 */
async function insertRows<Row extends object>(
  sql: Sql,
  table: string,
  types: { [K in keyof Row]: string },
  rows: readonly Row[],
  tail = '',
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(types) as (keyof Row & string)[];
  const arrays = names.map((name) => rows.map((row) => row[name] ?? null));
  const unnest = names.map((name, i) => `$${i + 1}::${types[name]}[]`).join(', ');
  await sql.run(`INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${unnest}) ${tail}`, arrays);
}

const EVENT_TYPES = { message_id: 'text', server_id: 'bigint', at: 'bigint', kind: 'text', detail: 'text' } as const;
const insertEvents = (sql: Sql, events: readonly NewEvent[]): Promise<void> => insertRows(sql, 'events', EVENT_TYPES, events);

/** A new message's row, as `insertRows` writes it. */
interface NewMessageRow {
  id: string;
  server_id: number;
  mail_from: string;
  size: number;
  subject: string | null;
  header_message_id: string | null;
  client_address: string;
  client_helo: string;
  route: string;
  relay_user: string | null;
  status: string;
  attempts: number;
  next_attempt_at: number;
  received_at: number;
  expires_at: number;
  updated_at: number;
  body_8bit: number;
  smtputf8: number;
}
const MESSAGE_TYPES: { [K in keyof NewMessageRow]: string } = {
  id: 'text',
  server_id: 'bigint',
  mail_from: 'text',
  size: 'bigint',
  subject: 'text',
  header_message_id: 'text',
  client_address: 'text',
  client_helo: 'text',
  route: 'text',
  relay_user: 'text',
  status: 'text',
  attempts: 'bigint',
  next_attempt_at: 'bigint',
  received_at: 'bigint',
  expires_at: 'bigint',
  updated_at: 'bigint',
  body_8bit: 'bigint',
  smtputf8: 'bigint',
};

function messageRow(m: NewMessage): NewMessageRow {
  const first = firstState(m);
  return {
    id: m.id,
    server_id: m.serverId,
    mail_from: m.mailFrom,
    size: m.size,
    subject: m.subject,
    header_message_id: m.headerMessageId,
    client_address: m.clientAddress,
    client_helo: m.clientHelo,
    route: m.route,
    relay_user: m.relayUser,
    status: first.status,
    attempts: first.attempts,
    next_attempt_at: m.receivedAt,
    received_at: m.receivedAt,
    expires_at: m.expiresAt,
    updated_at: m.receivedAt,
    body_8bit: first.body8bit,
    smtputf8: first.smtputf8,
  };
}

/**
 * Records accepted messages with their recipients, `received` events and last body chunks (received
 * by `owner`, this instance) through `sql` (one transaction).
 */
async function insertMessages(sql: Sql, owner: string, messages: readonly NewMessage[], chunks: readonly BodyChunk[]): Promise<void> {
  await appendChunks(sql, owner, chunks);
  await insertRows(sql, 'messages', MESSAGE_TYPES, messages.map(messageRow));
  const recipients = messages.flatMap((m) => m.recipients.map((address) => ({ message_id: m.id, address })));
  // A recipient named twice is recorded once, as SQLite's INSERT OR IGNORE does.
  await insertRows(sql, 'recipients', { message_id: 'text', address: 'text' }, recipients, 'ON CONFLICT DO NOTHING');
  await insertEvents(
    sql,
    messages.map((m) => ({ message_id: m.id, server_id: m.serverId, at: m.receivedAt, kind: 'received', detail: receivedDetail(m) })),
  );
}

/** Marks a waiting message sending and counts the attempt; only one of several concurrent claims gets the row. */
const claimOne = (sql: Sql, id: string, now: number, owner: string): Promise<MessageRow | undefined> =>
  sql.row<MessageRow>(
    `UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = $1, claimed_by = $3, lease_until = $4
     WHERE id = $2 AND ${DUE} RETURNING *`,
    [now, id, owner, now + CLAIM_LEASE_MS],
  );

/** Fails the pending recipients of `ids` with `reply`. */
const failPending = (sql: Sql, ids: readonly string[], reply: string, now: number): Promise<number> =>
  sql.run(`UPDATE recipients SET status = 'failed', reply = $2, done_at = $3 WHERE message_id = ANY($1::text[]) AND status = 'pending'`, [
    ids,
    reply,
    now,
  ]);

/** Writes an outcome's message columns and event; its status. */
async function writeOutcome(sql: Sql, id: string, serverId: number | null, outcome: Outcome, now: number): Promise<MessageStatus> {
  await sql.run('UPDATE messages SET status = $1, next_attempt_at = $2, last_reply = $3, updated_at = $4 WHERE id = $5', [
    outcome.status,
    outcome.nextAttemptAt,
    outcome.lastReply,
    now,
    id,
  ]);
  if (outcome.event) await insertEvents(sql, [{ message_id: id, server_id: serverId, at: now, ...outcome.event }]);
  return outcome.status;
}

/**
 * An attempt's outcome through `sql` (inside the caller's transaction): recipient states, message
 * state, events; nothing, and CLAIM_LOST, once `owner` no longer holds the message's claim.
 */
async function applyAttempt(sql: Sql, owner: string, id: string, result: AttemptResult, now: number): Promise<MessageStatus> {
  // The row lock keeps the claim read here and the recipients' count below consistent with any other
  // write to the message (a requeue, another instance's claim) until this transaction ends.
  const row = await sql.row<{ server_id: number | null; held: boolean }>(
    numbered(`SELECT server_id, ${CLAIM_HELD_SQL} AS held FROM messages WHERE id = ? FOR UPDATE`),
    [owner, id],
  );
  if (row?.held !== true) return CLAIM_LOST;
  const serverId = row.server_id;
  if (isStopping(result)) {
    if (result.kind === 'expire') await failPending(sql, [id], result.reply, now);
    return writeOutcome(sql, id, serverId, stoppedOutcome(result, now), now);
  }
  const answered = answers(result);
  // One update for them all; a recipient answered twice keeps its last answer, as SQLite's updates in turn leave it.
  const last = [...new Map(answered.map((a) => [a.address, a])).values()];
  if (last.length > 0) {
    await sql.run(
      `UPDATE recipients r SET status = a.status, reply = a.reply, done_at = $2
       FROM unnest($3::text[], $4::text[], $5::text[]) AS a(address, status, reply)
       WHERE r.message_id = $1 AND r.address = a.address`,
      [id, now, last.map((a) => a.address), last.map((a) => a.status), last.map((a) => a.reply)],
    );
  }
  await insertEvents(
    sql,
    answered.map(({ event }) => ({ message_id: id, server_id: serverId, at: now, ...event })),
  );
  const left = await sql.row<{ pending: number; delivered: boolean }>(
    `SELECT COUNT(*) FILTER (WHERE status = 'pending') AS pending, COALESCE(bool_or(status = 'delivered'), false) AS delivered
     FROM recipients WHERE message_id = $1`,
    [id],
  );
  return writeOutcome(sql, id, serverId, settledOutcome(result, now, left?.pending ?? 0, left?.delivered ?? false), now);
}

const anyFailedIn = async (sql: Sql, id: string): Promise<boolean> =>
  (await sql.row(`SELECT 1 FROM recipients WHERE message_id = $1 AND status = 'failed' LIMIT 1`, [id])) !== undefined;

/**
 * Fails every queued, deferred or held message of a server with `reason` through `sql`, with their
 * pending recipients, an event each, and their bodies; their IDs. The server removal runs it in
 * its transaction. Mail in flight is left to its attempt.
 */
export async function failWaitingIn(sql: Sql, serverId: number, reason: string, now: number): Promise<string[]> {
  const failed = await sql.rows<{ id: string }>(
    `UPDATE messages SET status = 'failed', next_attempt_at = $2, last_reply = $3, updated_at = $2
     WHERE server_id = $1 AND status IN ('queued', 'deferred', 'held') RETURNING id`,
    [serverId, now, reason],
  );
  const ids = failed.map((r) => r.id);
  await failPending(sql, ids, reason, now);
  await insertEvents(
    sql,
    ids.map((id) => ({ message_id: id, server_id: serverId, at: now, kind: 'failed', detail: reason })),
  );
  await removeBodies(sql, ids);
  return ids;
}

/** Messages by status, of one server or all, through `sql` (the server removal counts in its transaction). */
export async function countsByStatusIn(sql: Sql, serverId?: number): Promise<Record<MessageStatus, number>> {
  const byServer = serverId === undefined ? '' : 'WHERE server_id = $1';
  const params = serverId === undefined ? [] : [serverId];
  return toStatusCounts(
    await sql.rows<{ status: MessageStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM messages ${byServer} GROUP BY status`, params),
  );
}

/**
 * Moves the messages `where` selects (oldest first, at most `limit`, null for all) back to queued,
 * due `now`, with an event each of `kind` and `detail`: one statement, so every message moved has
 * its event; the number moved. `where` is a condition on `messages`, its parameters from $4 on.
 * The messages are picked once, locked, in a materialized step: an `UPDATE … WHERE id IN (SELECT …
 * LIMIT n FOR UPDATE)` may run its subquery again and move more than n. SKIP LOCKED leaves a row
 * another transaction is changing (a claim, an outcome, another instance's release) to it.
 * `claimed_by` stays: an outcome its claimer records late must see the claim is no longer its own
 * (CLAIM_HELD_SQL).
 */
const requeueWhere = (
  sql: Sql,
  where: string,
  params: readonly unknown[],
  kind: 'released' | 'requeued',
  detail: string,
  now: number,
  limit: number | null = null,
): Promise<number> =>
  sql.run(
    `WITH picked AS MATERIALIZED (
       SELECT id FROM messages WHERE ${where} ORDER BY received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
     moved AS (
       UPDATE messages SET status = 'queued', next_attempt_at = $1, updated_at = $1
       WHERE id IN (SELECT id FROM picked) RETURNING id, server_id, received_at)
     INSERT INTO events (message_id, server_id, at, kind, detail)
     SELECT id, server_id, $1, '${kind}', $2 FROM moved ORDER BY received_at, id`,
    [now, detail, limit, ...params],
  );

/** Creates the queue repository over the pool; its claims reserve quota and its writes store and remove bodies in their own transactions. */
export function createPgQueueRepo({ pg, instanceId: owner }: PgContext): Async<QueueRepo> {
  return {
    insert: (messages, chunks = []) => pg.tx((sql) => insertMessages(sql, owner, messages, chunks)),
    nextDueAt: async (serverId) =>
      (await pg.row<{ t: number | null }>(`SELECT MIN(next_attempt_at) AS t FROM messages WHERE server_id = $1 AND ${DUE}`, [serverId]))
        ?.t ?? null,
    peekDue: async (serverIds, now, limit) => {
      // One ordered index range per (server, status), each cut at the limit, then merged, as in
      // SQLite: a look at a lane reads a few rows however long the queue is.
      const rows = await pg.rows<MessageRow>(
        `SELECT m.* FROM unnest($1::bigint[]) AS s(server_id)
         CROSS JOIN (VALUES ('queued'), ('deferred')) AS w(status)
         CROSS JOIN LATERAL (
           SELECT * FROM messages
           WHERE server_id = s.server_id AND status = w.status AND next_attempt_at <= $2
           ORDER BY next_attempt_at, received_at LIMIT $3) m
         ORDER BY m.next_attempt_at, m.received_at, m.id COLLATE "C" LIMIT $3`,
        [serverIds, now, limit],
      );
      return rows.map(toMessage);
    },
    claim: async (id, now) => {
      const row = await claimOne(pg, id, now, owner);
      return row ? toMessage(row) : undefined;
    },
    claimAndReserve: (id, lane, recipients, now) =>
      pg.tx(async (sql) => {
        const row = await claimOne(sql, id, now, owner);
        return row ? { message: toMessage(row), reservationId: await reserveIn(sql, lane, id, recipients, now) } : undefined;
      }),
    forgetAttempt: async (id) => {
      await pg.run(numbered(`UPDATE messages SET attempts = GREATEST(attempts - 1, 0) WHERE id = ? AND ${CLAIM_HELD_SQL}`), [id, owner]);
    },
    get: async (id) => {
      const row = await pg.row<MessageRow>('SELECT * FROM messages WHERE id = $1', [id]);
      return row ? toMessage(row) : undefined;
    },
    recipients: (id) =>
      pg.rows<Recipient>('SELECT address, status, reply FROM recipients WHERE message_id = $1 ORDER BY address COLLATE "C"', [id]),
    pendingRecipients: async (id) =>
      (
        await pg.rows<{ address: string }>(
          `SELECT address FROM recipients WHERE message_id = $1 AND status = 'pending' ORDER BY address COLLATE "C"`,
          [id],
        )
      ).map((r) => r.address),
    recordAttempt: (id, result, now) => pg.tx((sql) => applyAttempt(sql, owner, id, result, now)),
    recordOutcome: (id, result, now, notice) =>
      pg.tx(async (sql) => {
        const status = await applyAttempt(sql, owner, id, result, now);
        const kind = owedNotice(notice, status, notice.failed && (await anyFailedIn(sql, id)));
        if (kind === null) return { status, owed: null, noticeError: null };
        // A failed statement aborts a PostgreSQL transaction: the savepoint undoes the notice alone
        // (as SQLite undoes the failed statement), so the outcome stays recorded.
        await sql.run('SAVEPOINT notice');
        try {
          const owed = await oweIn(sql, { messageId: id, kind, noticeId: notice.noticeId, headers: notice.headers, owedAt: now });
          await sql.run('RELEASE SAVEPOINT notice');
          return { status, owed: owed ? kind : null, noticeError: null };
        } catch (err) {
          await sql.run('ROLLBACK TO SAVEPOINT notice');
          return { status, owed: null, noticeError: (err as Error).message };
        }
      }),
    anyFailed: (id) => anyFailedIn(pg, id),
    notices: createPgNoticeRepo(pg),
    holdServer: (serverId, reply, now) =>
      pg.run(
        `WITH held AS (
           UPDATE messages SET status = 'held', next_attempt_at = $3, last_reply = $2, updated_at = $3
           WHERE server_id = $1 AND ${DUE} RETURNING id, received_at)
         INSERT INTO events (message_id, server_id, at, kind, detail)
         SELECT id, $1, $3, 'held', $2 FROM held ORDER BY received_at, id`,
        [serverId, reply, now],
      ),
    releaseHeld: (serverId, now, limit = -1) =>
      // Two instances probing the same held server at once release different messages. SQLite's
      // LIMIT -1 is no limit; PostgreSQL's is LIMIT NULL.
      requeueWhere(pg, `server_id = $4 AND status = 'held'`, [serverId], 'released', QUEUE_EVENT.released, now, limit < 0 ? null : limit),
    // What this instance left sending, and what an instance that died left with its lease run out;
    // another running instance's claims stay its own.
    requeueInFlight: (now) =>
      requeueWhere(
        pg,
        `status = 'sending' AND (claimed_by = $4 OR claimed_by IS NULL OR lease_until < $1)`,
        [owner],
        'requeued',
        QUEUE_EVENT.requeued,
        now,
      ),
    renewLeases: (ids, now) =>
      pg.run(`UPDATE messages SET lease_until = $1 WHERE status = 'sending' AND claimed_by = $2 AND id = ANY($3::text[])`, [
        now + CLAIM_LEASE_MS,
        owner,
        ids,
      ]),
    requeueExpired: (now) => requeueWhere(pg, `status = 'sending' AND lease_until < $1`, [], 'requeued', QUEUE_EVENT.expired, now),
    markLost: (id, reason, now) =>
      pg.tx(async (sql) => {
        // Only a message still waiting or in flight: another instance may have finished it (and
        // removed its body) since this one's start-up listed it as live.
        const row = await sql.row<{ server_id: number | null }>(
          `UPDATE messages SET status = 'failed', next_attempt_at = $2, last_reply = $3, updated_at = $2
           WHERE id = $1 AND status NOT IN ('delivered', 'failed') RETURNING server_id`,
          [id, now, reason],
        );
        if (!row) return;
        await failPending(sql, [id], reason, now);
        await insertEvents(sql, [{ message_id: id, server_id: row.server_id, at: now, kind: 'failed', detail: reason }]);
      }),
    failWaiting: (serverId, reason, now) => pg.tx((sql) => failWaitingIn(sql, serverId, reason, now)),
    bodilessIds: async () => (await pg.rows<{ id: string }>(BODILESS_SQL)).map((r) => r.id),
    list: async (filter = {}) => {
      const { sql, params } = listQuery(filter, PG_LIST);
      return (await pg.rows<MessageRow>(sql, params)).map(toMessage);
    },
    events: async (id) => (await pg.rows<EventRow>('SELECT * FROM events WHERE message_id = $1 ORDER BY id', [id])).map(toEvent),
    eventsSince: async (afterId, limit = 200) =>
      (await pg.rows<EventRow>('SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit])).map(toEvent),
    retryNow: async (id, now) =>
      (await pg.run(
        `UPDATE messages SET status = 'queued', next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND status IN ('deferred', 'held', 'queued')`,
        [now, id],
      )) > 0,
    retryWaiting: (filter, by, now) => {
      const statuses = filter.heldOnly ? `status = 'held'` : `status IN ('deferred', 'held')`;
      return filter.serverId === undefined
        ? requeueWhere(pg, statuses, [], 'released', QUEUE_EVENT.retried(by), now)
        : requeueWhere(pg, `${statuses} AND server_id = $4`, [filter.serverId], 'released', QUEUE_EVENT.retried(by), now);
    },
    remove: (id, now) =>
      pg.tx(async (sql) => {
        // Recipients and notices go with the message (ON DELETE CASCADE).
        const deleted = await sql.row<{ server_id: number | null }>(
          `DELETE FROM messages WHERE id = $1 AND status != 'sending' RETURNING server_id`,
          [id],
        );
        if (!deleted) return false;
        await insertEvents(sql, [{ message_id: id, server_id: deleted.server_id, at: now, kind: 'deleted', detail: QUEUE_EVENT.deleted }]);
        await removeBodies(sql, [id]);
        return true;
      }),
    addEvent: async (messageId, serverId, kind, detail, now) => {
      await insertEvents(pg, [{ message_id: messageId, server_id: serverId, at: now, kind, detail }]);
    },
    countsByStatus: (serverId) => countsByStatusIn(pg, serverId),
  };
}
