/**
 * The queue's rules that do not depend on the engine: the state a new message
 * starts in, what an attempt's outcome makes of a message and its recipients,
 * which delivery status notification it makes owed, and the texts of the
 * events the queue writes. Each engine's queue repository applies them with
 * its own SQL (src/store/queue.ts, src/store/postgres/queue.ts), so both
 * record the same states and the same relay log.
 */
import type { NoticeKind } from './notices.js';
import type { AttemptResult, EventKind, MessageStatus, NewMessage, NoticeCandidate, RecipientStatus } from './queue-types.js';

/** The columns a new message starts with (flags as the 0/1 integers both schemas store). */
export interface FirstState {
  status: 'queued' | 'sending';
  /** A message its sender delivers at once (a test email) starts with that attempt counted. */
  attempts: number;
  body8bit: 0 | 1;
  smtputf8: 0 | 1;
}

/** The state a new message is recorded in. */
export function firstState(m: NewMessage): FirstState {
  const status = m.status ?? 'queued';
  return { status, attempts: status === 'sending' ? 1 : 0, body8bit: m.body8bit ? 1 : 0, smtputf8: m.smtputf8 ? 1 : 0 };
}

/** The text of a new message's `received` event. */
export function receivedDetail(m: NewMessage): string {
  return `from ${m.mailFrom} to ${m.recipients.length} recipient(s), ${m.size} bytes`;
}

/** An event the queue writes about a message. */
export interface EventText {
  kind: EventKind;
  detail: string;
}

/**
 * How long a claim holds without renewal. The instance delivering a message renews its claims well
 * within this; when it dies, any instance queues the message again once the lease ran out.
 */
export const CLAIM_LEASE_MS = 60_000;

/**
 * What recording an attempt's outcome answers when the message is no longer this instance's to
 * settle: its claim ran out (the instance could not renew it for CLAIM_LEASE_MS, the database
 * unreachable) and the message was queued again, and maybe claimed and delivered since by another
 * instance. Nothing is written: no recipient, no event, no notice. It is 'sending', the one state
 * an outcome never leaves a message in, so the answer stays a MessageStatus for every caller.
 */
export const CLAIM_LOST = 'sending' satisfies MessageStatus;

/** The texts of the events the queue writes when mail is moved by hand or by a restart. */
export const QUEUE_EVENT = {
  released: 'retrying held mail',
  requeued: 'relay restarted while this message was being delivered',
  expired: 'the instance delivering this message stopped renewing its claim',
  deleted: 'deleted by an admin',
  retried: (by: string): string => `retried by ${by}`,
} as const;

/** A message's columns as an outcome leaves them, and the event that says so (null when its recipients' events say it all). */
export interface Outcome {
  status: MessageStatus;
  nextAttemptAt: number;
  lastReply: string;
  event: EventText | null;
}

/** An outcome without answers per recipient. */
export type StoppingResult = Extract<AttemptResult, { kind: 'hold' | 'expire' }>;
/** An outcome with answers per recipient. */
export type AnsweredResult = Extract<AttemptResult, { kind: 'done' | 'defer' }>;

/** True for the outcomes that stop the message as a whole: held (its server cannot authenticate) or expired. */
export function isStopping(result: AttemptResult): result is StoppingResult {
  return result.kind === 'hold' || result.kind === 'expire';
}

/**
 * What a hold or an expiry makes of the message. An expiry also fails every recipient still
 * pending with its reply (the caller's SQL, before this state is written).
 */
export function stoppedOutcome(result: StoppingResult, now: number): Outcome {
  const status = result.kind === 'hold' ? 'held' : 'failed';
  return { status, nextAttemptAt: now, lastReply: result.reply, event: { kind: status, detail: result.reply } };
}

/** One recipient's answer in an attempt, as it is written: its new state, its reply, and its event. */
export interface Answer {
  address: string;
  status: Extract<RecipientStatus, 'delivered' | 'failed'>;
  reply: string;
  event: EventText;
}

/** The recipients an attempt answered for, in the order they are applied: the delivered ones, then the failed ones. */
export function answers(result: AnsweredResult): Answer[] {
  const as =
    (status: Answer['status']) =>
    (r: { address: string; reply: string }): Answer => ({
      ...r,
      status,
      event: { kind: status, detail: `${r.address}: ${r.reply}` },
    });
  return [...(result.delivered ?? []).map(as('delivered')), ...(result.failed ?? []).map(as('failed'))];
}

/**
 * What a finished or deferred attempt makes of the message once its answers are applied, from
 * what its recipients then are: `pending` of them still waiting, `anyDelivered` of them delivered.
 * A deferral with nobody left waiting finishes the message as a done attempt would.
 */
export function settledOutcome(result: AnsweredResult, now: number, pending: number, anyDelivered: boolean): Outcome {
  if (result.kind === 'defer' && pending > 0) {
    const detail = `${result.reply} (next attempt ${new Date(result.nextAttemptAt).toISOString()})`;
    return { status: 'deferred', nextAttemptAt: result.nextAttemptAt, lastReply: result.reply, event: { kind: 'deferred', detail } };
  }
  const lastReply = result.kind === 'done' ? (result.delivered[0]?.reply ?? result.failed[0]?.reply ?? '') : result.reply;
  return { status: anyDelivered ? 'delivered' : 'failed', nextAttemptAt: now, lastReply, event: null };
}

/**
 * The notice an outcome makes owed, if the relay asked for it: `failed` when the outcome finishes
 * the message with a recipient failed for good (`anyFailed`), `delayed` when it defers it. An
 * outcome not recorded (CLAIM_LOST) owes none.
 */
export function owedNotice(notice: NoticeCandidate, status: MessageStatus, anyFailed: boolean): NoticeKind | null {
  const finished = status === 'delivered' || status === 'failed';
  if (notice.failed && finished && anyFailed) return 'failed';
  if (notice.delayed && status === 'deferred') return 'delayed';
  return null;
}
