/**
 * What happens after a delivery attempt: recipient and message states in the
 * queue, the delivery status notification an outcome makes owed (notices.ts),
 * and the server's status. An authorization problem holds the server's mail
 * and marks the server; the first delivery that works again releases
 * everything. An attempt whose claim ran out meanwhile (another instance may
 * have queued the message again and delivered it) records nothing: its
 * message stays as the new claim leaves it, body and all.
 */
import { hintForGraphError, hintForSmtpReply, hintForTokenError, type Hint } from '../auth/hints.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoreSlice } from '../store/index.js';
import type { AttemptResult, MessageStatus, QueuedMessage } from '../store/queue.js';
import { CLAIM_LOST } from '../store/queue-outcome.js';
import { classify, retryDelay, type Decision, type Failure } from './classify.js';
import type { Connection } from './connect.js';
import { connectionLimit, type Member } from './lane.js';
import type { Notices } from './notices.js';
import type { Spool } from './spool.js';
import type { DeliveryError, RecipientReply } from './upstream.js';

/** How often a held server is probed with one message. */
export const PROBE_INTERVAL_MS = 5 * 60_000;
/** How long concurrency stays lowered after a 432 4.3.2. */
const THROTTLE_MS = 10 * 60_000;

/** One delivery attempt: the server it ran for, the connection it used, and the settings generation it started under. */
export interface Attempt {
  member: Member;
  conn: Connection | null;
  generation: number;
}

/** What one attempt came to, for a caller that waits for it (Send Test Email). */
export interface AttemptSummary {
  ok: boolean;
  reply: string;
  hint: Hint | null;
}

export interface OutcomeDeps {
  store: StoreSlice<{
    queue: 'recordAttempt' | 'forgetAttempt' | 'holdServer' | 'releaseHeld' | 'pendingRecipients';
    servers: 'setStatus';
  }>;
  spool: Pick<Spool, 'remove'>;
  log: Logger;
  now: () => number;
  /** False once the attempt's server changed its settings (or was removed) while it ran. */
  isCurrent: (attempt: Attempt) => boolean;
  /** Counts outcomes, delivery latency and upstream replies when given. */
  metrics?: Metrics;
  /** Records outcomes with the delivery status notifications they make owed, and queues those. */
  notices: Pick<Notices, 'record'>;
}

export interface Outcomes {
  /** Records an attempt in which the upstream answered per recipient. */
  settleRecipients(
    attempt: Attempt,
    message: QueuedMessage,
    accepted: RecipientReply[],
    rejected: RecipientReply[],
  ): Promise<AttemptSummary>;
  /** Records a failed attempt and applies what the classifier decided. */
  settleFailure(attempt: Attempt, message: QueuedMessage, error: DeliveryError): Promise<AttemptSummary>;
  /** Holds the server's mail and shows the problem with its fix. */
  holdLane(member: Member, reply: string, code: string, hint: Hint | null, status: 'not_authorized' | 'error'): Promise<void>;
  /** Marks the server authorized (account, token time of `conn`) and releases held mail. */
  markWorking(member: Member, conn: Connection | null): Promise<void>;
}

/** Prefixes an AADSTS or network code the text does not already name; our own codes stay out of sight. */
function withCode(code: string, message: string): string {
  const shown = /^AADSTS\d+$/.test(code) || /^E[A-Z]+$/.test(code);
  return shown && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/** What a Graph failure says in the relay log: the request, Microsoft's status, code and message. */
function graphReply(failure: Extract<Failure, { kind: 'graph' }>): string {
  if (failure.status === 0) return `not sent via Microsoft Graph (${failure.code}): ${failure.message}`;
  return `Microsoft Graph ${failure.step}: ${failure.status} ${failure.code}: ${failure.message}`;
}

/** The admin hint for a failed attempt: Microsoft's SMTP reply, Graph error or token error, from the hint table. */
export function hintForFailure(failure: Failure): Hint | null {
  if (failure.kind === 'smtp') return hintForSmtpReply(failure.reply);
  if (failure.kind === 'graph') return hintForGraphError(failure.code, failure.step);
  if (failure.kind === 'token') return hintForTokenError(/^AADSTS(\d+)$/.exec(failure.code)?.[1] ?? null, failure.code);
  return null;
}

/** Creates the outcome recorder. */
export function createOutcomes({ store, spool, log, now, isCurrent, metrics, notices }: OutcomeDeps): Outcomes {
  const { queue, servers } = store;
  /**
   * Counts what an attempt left the message as and says whether it was recorded: false once the
   * claim on the message ran out (CLAIM_LOST), logged and not counted; the caller then leaves the
   * body to the message's new claim.
   */
  const settled = (member: Member, message: QueuedMessage, status: MessageStatus, detail: Record<string, unknown> = {}): boolean => {
    if (status === CLAIM_LOST) {
      log.warn("the claim on this message ran out and it was queued again; this attempt's outcome is not recorded", {
        queueId: message.id,
        server: member.server.name,
        ...detail,
      });
      return false;
    }
    if (status === 'delivered' || status === 'failed' || status === 'deferred' || status === 'held') {
      metrics?.messageSettled(member.server.name, status);
    }
    return true;
  };
  /** Records an outcome that may fail recipients for good or defer for long, with the notice it makes owed. */
  const record = (member: Member, message: QueuedMessage, result: AttemptResult, t: number): Promise<MessageStatus> =>
    notices.record(member.server, message, result, t);
  // A body that cannot be removed is logged; start-up recovery removes the bodies of finished messages.
  const discard = async (id: string): Promise<void> => {
    try {
      await spool.remove(id);
    } catch (err) {
      log.error("cannot remove a message's body", { queueId: id, error: (err as Error).message });
    }
  };
  const holdLane = async (
    member: Member,
    reply: string,
    code: string,
    hint: Hint | null,
    status: 'not_authorized' | 'error',
  ): Promise<void> => {
    const t = now();
    if (!member.held) {
      log.warn('email server cannot authenticate; holding its mail', {
        server: member.server.name,
        alert: true,
        code,
        reply,
        fix: hint?.fix,
      });
    }
    member.held = true;
    member.nextProbeAt = t + PROBE_INTERVAL_MS;
    await queue.holdServer(member.server.id, reply, t);
    await servers.setStatus(member.server.id, { status, code, message: reply, hint: hint ? `${hint.meaning}. ${hint.fix}` : null });
  };

  const markWorking = async (member: Member, conn: Connection | null): Promise<void> => {
    const refreshedAt = conn?.tokens?.refreshedAt ?? null;
    if (!member.held && member.server.status === 'authorized' && refreshedAt === member.reportedRefresh) return;
    member.reportedRefresh = refreshedAt;
    const account = member.server.signInMode === 'application' ? member.server.mailbox : member.server.authorizedAccount;
    await servers.setStatus(member.server.id, { status: 'authorized', account, refreshedAt });
    member.server = { ...member.server, status: 'authorized' };
    if (member.held) {
      member.held = false;
      const released = await queue.releaseHeld(member.server.id, now());
      log.info('email server works again; releasing held mail', { server: member.server.name, messages: released });
    }
  };

  /** Records a result in which the upstream answered per recipient. */
  const settleRecipients = async (
    attempt: Attempt,
    message: QueuedMessage,
    accepted: RecipientReply[],
    rejected: RecipientReply[],
  ): Promise<AttemptSummary> => {
    const member = attempt.member;
    const t = now();
    const failed: RecipientReply[] = [];
    const deferred: RecipientReply[] = [];
    for (const r of rejected) (classify({ kind: 'smtp', code: r.code, reply: r.reply }).action === 'fail' ? failed : deferred).push(r);
    const nextAttemptAt = t + retryDelay(message.attempts);
    if (deferred.length > 0 && nextAttemptAt > message.expiresAt) failed.push(...deferred.splice(0));
    const delivered = accepted.map(({ address, reply }) => ({ address, reply }));
    const status = await record(
      member,
      message,
      deferred.length > 0
        ? { kind: 'defer', nextAttemptAt, reply: (deferred[0] as RecipientReply).reply, delivered, failed }
        : { kind: 'done', delivered, failed },
      t,
    );
    // The reply to DATA (shared by the accepted recipients) and each refused recipient's own, recorded or not.
    for (const r of [...accepted.slice(0, 1), ...rejected]) metrics?.upstreamReply(member.server.name, r.code, r.reply);
    const counts = { delivered: delivered.length, failed: failed.length, deferred: deferred.length };
    if (settled(member, message, status, counts)) {
      if (status === 'delivered' || status === 'failed') await discard(message.id);
      if (status === 'delivered') metrics?.deliveryLatency(member.server.name, (t - message.receivedAt) / 1000);
      log.info('delivery attempt', { queueId: message.id, server: member.server.name, status, ...counts });
    }
    const problem = rejected[0];
    return problem
      ? { ok: false, reply: `${problem.address}: ${problem.reply}`, hint: hintForSmtpReply(problem.reply) }
      : { ok: true, reply: accepted[0]?.reply ?? '', hint: null };
  };

  const settleFailure = async (attempt: Attempt, message: QueuedMessage, error: DeliveryError): Promise<AttemptSummary> => {
    const member = attempt.member;
    if (error.rejected.length > 0) {
      // Every recipient was refused at RCPT TO, each with its own reply.
      if (isCurrent(attempt)) await markWorking(member, attempt.conn);
      return settleRecipients(attempt, message, [], error.rejected);
    }
    const failure = error.failure;
    if (failure.kind === 'smtp') metrics?.upstreamReply(member.server.name, failure.code, failure.reply);
    const reply =
      failure.kind === 'smtp' ? failure.reply : failure.kind === 'graph' ? graphReply(failure) : withCode(failure.code, failure.message);
    if (failure.kind === 'graph' && failure.status > 0) metrics?.upstreamReply(member.server.name, failure.status, reply);
    const decision: Decision = classify(failure);
    // Any other reply to a held server's probe came after Microsoft took the token: its held mail may go again.
    const answered = failure.kind === 'smtp' || (failure.kind === 'graph' && failure.status > 0);
    if (member.held && answered && decision.action !== 'hold' && isCurrent(attempt)) await markWorking(member, attempt.conn);
    log.warn('delivery attempt failed', { queueId: message.id, server: member.server.name, action: decision.action, reply });
    const hint = hintForFailure(failure);
    await applyDecision(attempt, message, decision, failure, reply, hint);
    return { ok: false, reply, hint };
  };

  const applyDecision = async (
    attempt: Attempt,
    message: QueuedMessage,
    decision: Decision,
    failure: Failure,
    reply: string,
    hint: Hint | null,
  ): Promise<void> => {
    const t = now();
    const member = attempt.member;
    const mailbox = member.lane;
    switch (decision.action) {
      case 'hold': {
        // Held mail waits for the server, not for the retry schedule: the attempt (or probe) is not counted.
        await queue.forgetAttempt(message.id);
        if (!isCurrent(attempt)) {
          // The settings changed while this attempt ran: try again with the new ones.
          settled(member, message, await queue.recordAttempt(message.id, { kind: 'defer', nextAttemptAt: t, reply }, t));
          return;
        }
        // A lost claim leaves the message to its new claim, but the server's failure holds its mail all the same.
        settled(member, message, await queue.recordAttempt(message.id, { kind: 'hold', reply }, t));
        if (failure.kind === 'smtp') {
          await holdLane(member, reply, /\d\.\d{1,3}\.\d{1,3}/.exec(reply)?.[0] ?? String(failure.code), hint, 'error');
        } else {
          // Lost or missing authorization reads Not Authorized; a wrong secret or tenant is an error.
          const lost = member.server.signInMode === 'authorize' || ['not_configured', 'no_account'].includes(failure.code);
          await holdLane(member, reply, failure.code, hint, lost ? 'not_authorized' : 'error');
        }
        return;
      }
      case 'pause':
        mailbox.pausedUntil = Math.max(mailbox.pausedUntil, t + decision.forMs);
        settled(member, message, await record(member, message, { kind: 'defer', nextAttemptAt: mailbox.pausedUntil, reply }, t));
        log.warn('email server paused by a Microsoft limit', {
          server: member.server.name,
          alert: true,
          until: new Date(mailbox.pausedUntil).toISOString(),
          reply,
        });
        return;
      case 'retry': {
        if (decision.throttle) {
          // The mailbox's connection limit, shared by every server sending as it.
          mailbox.throttleLimit = Math.max(1, connectionLimit(mailbox, t) - 1);
          mailbox.throttledUntil = t + THROTTLE_MS;
          mailbox.active?.conn.upstream.setConnectionLimit(mailbox.throttleLimit);
        }
        const nextAttemptAt = t + retryDelay(message.attempts);
        if (nextAttemptAt > message.expiresAt) {
          const expired = { kind: 'expire', reply: `gave up after ${message.attempts} attempts: ${reply}` } as const;
          if (settled(member, message, await record(member, message, expired, t))) await discard(message.id);
        } else {
          settled(member, message, await record(member, message, { kind: 'defer', nextAttemptAt, reply }, t));
        }
        return;
      }
      case 'fail': {
        const failed = (await queue.pendingRecipients(message.id)).map((address) => ({ address, reply }));
        if (settled(member, message, await record(member, message, { kind: 'done', delivered: [], failed }, t))) await discard(message.id);
        return;
      }
    }
  };

  return { settleRecipients, settleFailure, holdLane, markWorking };
}
