/**
 * What happens after a delivery attempt: recipient and message states in the
 * queue, and the server's status. An authorization problem holds the
 * server's mail and marks the server; the first delivery that works again
 * releases everything.
 */
import { hintForSmtpReply, hintForTokenError, type Hint } from '../auth/hints.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import { classify, retryDelay, type Decision, type Failure } from './classify.js';
import type { DeliveryError, RecipientReply } from './delivery.js';
import type { Lane } from './lane.js';
import type { Spool } from './spool.js';

/** How often a held server is probed with one message. */
export const PROBE_INTERVAL_MS = 5 * 60_000;
/** How long concurrency stays lowered after a 432 4.3.2. */
const THROTTLE_MS = 10 * 60_000;

/** What one attempt came to, for a caller that waits for it (Send Test Email). */
export interface AttemptSummary {
  ok: boolean;
  reply: string;
  hint: Hint | null;
}

export interface OutcomeDeps {
  store: Store;
  spool: Spool;
  log: Logger;
  now: () => number;
  /** False once a lane was replaced (its server's settings changed during the attempt). */
  isCurrent: (lane: Lane) => boolean;
}

export interface Outcomes {
  /** Records an attempt in which the upstream answered per recipient. */
  settleRecipients(lane: Lane, message: QueuedMessage, accepted: RecipientReply[], rejected: RecipientReply[]): AttemptSummary;
  /** Records a failed attempt and applies what the classifier decided. */
  settleFailure(lane: Lane, message: QueuedMessage, error: DeliveryError): AttemptSummary;
  /** Holds the server's mail and shows the problem with its fix. */
  holdLane(lane: Lane, reply: string, code: string, hint: Hint | null, status: 'not_authorized' | 'error'): void;
  /** Marks the server authorized (account, token time) and releases held mail. */
  markWorking(lane: Lane): void;
}

/** Prefixes an AADSTS or network code the text does not already name; our own codes stay out of sight. */
function withCode(code: string, message: string): string {
  const shown = /^AADSTS\d+$/.test(code) || /^E[A-Z]+$/.test(code);
  return shown && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/** Creates the outcome recorder. */
export function createOutcomes({ store, spool, log, now, isCurrent }: OutcomeDeps): Outcomes {
  const { queue, servers } = store;
  const holdLane = (lane: Lane, reply: string, code: string, hint: Hint | null, status: 'not_authorized' | 'error'): void => {
    const t = now();
    if (!lane.held) {
      log.warn('email server cannot authenticate; holding its mail', {
        server: lane.server.name,
        alert: true,
        code,
        reply,
        fix: hint?.fix,
      });
    }
    lane.held = true;
    lane.nextProbeAt = t + PROBE_INTERVAL_MS;
    queue.holdServer(lane.server.id, reply, t);
    servers.setStatus(lane.server.id, { status, code, message: reply, hint: hint ? `${hint.meaning}. ${hint.fix}` : null });
  };

  const markWorking = (lane: Lane): void => {
    const refreshedAt = lane.conn?.tokens?.refreshedAt ?? null;
    if (!lane.held && lane.server.status === 'authorized' && refreshedAt === lane.reportedRefresh) return;
    lane.reportedRefresh = refreshedAt;
    const account = lane.server.signInMode === 'application' ? lane.server.mailbox : lane.server.authorizedAccount;
    servers.setStatus(lane.server.id, { status: 'authorized', account, refreshedAt });
    lane.server = { ...lane.server, status: 'authorized' };
    if (lane.held) {
      lane.held = false;
      const released = queue.releaseHeld(lane.server.id, now());
      log.info('email server works again; releasing held mail', { server: lane.server.name, messages: released });
    }
  };

  /** Records a result in which the upstream answered per recipient. */
  const settleRecipients = (lane: Lane, message: QueuedMessage, accepted: RecipientReply[], rejected: RecipientReply[]): AttemptSummary => {
    const t = now();
    const failed: RecipientReply[] = [];
    const deferred: RecipientReply[] = [];
    for (const r of rejected) (classify({ kind: 'smtp', code: r.code, reply: r.reply }).action === 'fail' ? failed : deferred).push(r);
    const nextAttemptAt = t + retryDelay(message.attempts);
    if (deferred.length > 0 && nextAttemptAt > message.expiresAt) failed.push(...deferred.splice(0));
    const delivered = accepted.map(({ address, reply }) => ({ address, reply }));
    const status = queue.recordAttempt(
      message.id,
      deferred.length > 0
        ? { kind: 'defer', nextAttemptAt, reply: (deferred[0] as RecipientReply).reply, delivered, failed }
        : { kind: 'done', delivered, failed },
      t,
    );
    lane.dailyUsed += delivered.length;
    if (status === 'delivered' || status === 'failed') void spool.remove(message.id);
    log.info('delivery attempt', {
      queueId: message.id,
      server: lane.server.name,
      status,
      delivered: delivered.length,
      failed: failed.length,
      deferred: deferred.length,
    });
    const problem = rejected[0];
    return problem
      ? { ok: false, reply: `${problem.address}: ${problem.reply}`, hint: hintForSmtpReply(problem.reply) }
      : { ok: true, reply: accepted[0]?.reply ?? '', hint: null };
  };

  const settleFailure = (lane: Lane, message: QueuedMessage, error: DeliveryError): AttemptSummary => {
    if (error.rejected.length > 0) {
      // Every recipient was refused at RCPT TO, each with its own reply.
      markWorking(lane);
      return settleRecipients(lane, message, [], error.rejected);
    }
    const failure = error.failure;
    const reply = failure.kind === 'smtp' ? failure.reply : withCode(failure.code, failure.message);
    const decision: Decision = classify(failure);
    log.warn('delivery attempt failed', { queueId: message.id, server: lane.server.name, action: decision.action, reply });
    const hint =
      failure.kind === 'smtp'
        ? hintForSmtpReply(reply)
        : failure.kind === 'token'
          ? hintForTokenError(/^AADSTS(\d+)$/.exec(failure.code)?.[1] ?? null, failure.code)
          : null;
    applyDecision(lane, message, decision, failure, reply, hint);
    return { ok: false, reply, hint };
  };

  const applyDecision = (
    lane: Lane,
    message: QueuedMessage,
    decision: Decision,
    failure: Failure,
    reply: string,
    hint: Hint | null,
  ): void => {
    const t = now();
    switch (decision.action) {
      case 'hold': {
        if (!isCurrent(lane)) {
          // The settings changed while this attempt ran: try again with the new ones.
          queue.recordAttempt(message.id, { kind: 'defer', nextAttemptAt: t, reply }, t);
          return;
        }
        queue.recordAttempt(message.id, { kind: 'hold', reply }, t);
        if (failure.kind === 'smtp') {
          holdLane(lane, reply, /\d\.\d{1,3}\.\d{1,3}/.exec(reply)?.[0] ?? String(failure.code), hint, 'error');
        } else {
          // Lost or missing authorization reads Not Authorized; a wrong secret or tenant is an error.
          const lost = lane.server.signInMode === 'authorize' || ['not_configured', 'no_account'].includes(failure.code);
          holdLane(lane, reply, failure.code, hint, lost ? 'not_authorized' : 'error');
        }
        return;
      }
      case 'pause':
        lane.pausedUntil = t + decision.forMs;
        queue.recordAttempt(message.id, { kind: 'defer', nextAttemptAt: lane.pausedUntil, reply }, t);
        log.warn('email server paused by a Microsoft limit', {
          server: lane.server.name,
          alert: true,
          until: new Date(lane.pausedUntil).toISOString(),
          reply,
        });
        return;
      case 'retry': {
        if (decision.throttle) {
          lane.limit = Math.max(1, lane.limit - 1);
          lane.throttledUntil = t + THROTTLE_MS;
          lane.conn?.upstream.setConnectionLimit(lane.limit);
        }
        const nextAttemptAt = t + retryDelay(message.attempts);
        if (nextAttemptAt > message.expiresAt) {
          queue.recordAttempt(message.id, { kind: 'expire', reply: `gave up after ${message.attempts} attempts: ${reply}` }, t);
          void spool.remove(message.id);
        } else {
          queue.recordAttempt(message.id, { kind: 'defer', nextAttemptAt, reply }, t);
        }
        return;
      }
      case 'fail': {
        const failed = queue.pendingRecipients(message.id).map((address) => ({ address, reply }));
        queue.recordAttempt(message.id, { kind: 'done', delivered: [], failed }, t);
        void spool.remove(message.id);
        return;
      }
    }
  };

  return { settleRecipients, settleFailure, holdLane, markWorking };
}
