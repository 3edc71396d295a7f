/**
 * The queue's shapes: messages, recipients, events, filters and attempt
 * outcomes as the rest of relay365 sees them, and the row mappers both
 * engines' queue repositories use.
 */
import type { NoticeKind } from './notices.js';

/** queued: waiting for its first or next attempt; sending: in flight; held: its server cannot authenticate. */
export type MessageStatus = 'queued' | 'deferred' | 'sending' | 'held' | 'delivered' | 'failed';
export type RecipientStatus = 'pending' | 'delivered' | 'failed';
/** notice: a delivery status notification to the envelope sender was queued (or given up). */
export type EventKind =
  'received' | 'attempt' | 'delivered' | 'deferred' | 'held' | 'released' | 'failed' | 'requeued' | 'deleted' | 'notice';

export interface NewMessage {
  id: string;
  serverId: number;
  mailFrom: string;
  recipients: string[];
  size: number;
  subject: string | null;
  headerMessageId: string | null;
  clientAddress: string;
  clientHelo: string;
  /** How the message was let in: `relay user NAME`, `network CIDR`, `admin panel`. */
  route: string;
  /** The relay user who sent it, when it came in over SMTP AUTH. */
  relayUser: string | null;
  receivedAt: number;
  expiresAt: number;
  /** The client declared `BODY=8BITMIME` (default false): the upstream MAIL FROM says so too. */
  body8bit?: boolean;
  /** The client declared `SMTPUTF8` (default false). */
  smtputf8?: boolean;
  /** 'sending' when the caller delivers it itself right away (a test email); default 'queued'. */
  status?: 'queued' | 'sending';
}

export interface QueuedMessage {
  id: string;
  serverId: number | null;
  mailFrom: string;
  size: number;
  subject: string | null;
  headerMessageId: string | null;
  clientAddress: string | null;
  route: string | null;
  relayUser: string | null;
  status: MessageStatus;
  attempts: number;
  nextAttemptAt: number;
  receivedAt: number;
  expiresAt: number;
  lastReply: string | null;
  /** The client declared `BODY=8BITMIME`. */
  body8bit: boolean;
  /** The client declared `SMTPUTF8`. */
  smtputf8: boolean;
}

export interface Recipient {
  address: string;
  status: RecipientStatus;
  reply: string | null;
}

export interface MessageEvent {
  id: number;
  messageId: string | null;
  serverId: number | null;
  at: number;
  kind: EventKind;
  detail: string | null;
}

export interface ListFilter {
  serverId?: number;
  status?: MessageStatus;
  /** The envelope sender starts with this (case-insensitive), so an index serves it. */
  sender?: string;
  /** A recipient starts with this (case-insensitive), so an index serves it. */
  recipient?: string;
  /** Only messages listed after this one (newest first): the cursor of the previous page. */
  after?: { receivedAt: number; id: string };
  limit?: number;
}

/** What one delivery attempt decided for a message. */
export type AttemptResult =
  | { kind: 'done'; delivered: { address: string; reply: string }[]; failed: { address: string; reply: string }[] }
  | {
      kind: 'defer';
      nextAttemptAt: number;
      reply: string;
      delivered?: { address: string; reply: string }[];
      failed?: { address: string; reply: string }[];
    }
  | { kind: 'hold'; reply: string }
  | { kind: 'expire'; reply: string };

/** A delivery status notification an attempt's outcome may make owed (the relay reads the headers and reserves its ID). */
export interface NoticeCandidate {
  /** Owed when the outcome finishes the message with a recipient failed for good. */
  failed: boolean;
  /** Owed when the outcome defers the message. */
  delayed: boolean;
  /** The notice's own queue ID. */
  noticeId: string;
  /** The original message's header block. */
  headers: Buffer;
}

/** What `recordOutcome` did: the message's state, the notice it made owed, and why a notice could not be recorded. */
export interface RecordedOutcome {
  status: MessageStatus;
  owed: NoticeKind | null;
  noticeError: string | null;
}

export interface MessageRow {
  id: string;
  server_id: number | null;
  mail_from: string;
  size: number;
  subject: string | null;
  header_message_id: string | null;
  client_address: string | null;
  route: string | null;
  relay_user: string | null;
  status: MessageStatus;
  attempts: number;
  next_attempt_at: number;
  received_at: number;
  expires_at: number;
  last_reply: string | null;
  body_8bit: number;
  smtputf8: number;
}

export interface EventRow {
  id: number;
  message_id: string | null;
  server_id: number | null;
  at: number;
  kind: EventKind;
  detail: string | null;
}

/** Messages by status from `status, COUNT(*)` rows, every status present (0 when it has none). */
export function toStatusCounts(rows: readonly { status: MessageStatus; n: number }[]): Record<MessageStatus, number> {
  const counts: Record<MessageStatus, number> = { queued: 0, deferred: 0, sending: 0, held: 0, delivered: 0, failed: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export function toEvent(e: EventRow): MessageEvent {
  return { id: e.id, messageId: e.message_id, serverId: e.server_id, at: e.at, kind: e.kind, detail: e.detail };
}

export function toMessage(row: MessageRow): QueuedMessage {
  return {
    id: row.id,
    serverId: row.server_id,
    mailFrom: row.mail_from,
    size: row.size,
    subject: row.subject,
    headerMessageId: row.header_message_id,
    clientAddress: row.client_address,
    route: row.route,
    relayUser: row.relay_user,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    receivedAt: row.received_at,
    expiresAt: row.expires_at,
    lastReply: row.last_reply,
    body8bit: row.body_8bit === 1,
    smtputf8: row.smtputf8 === 1,
  };
}
