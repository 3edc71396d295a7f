/**
 * The delivery scheduler. One lane per email server keeps under its limits
 * (Max Connections, Messages per Minute, Recipients per Day), claims due
 * messages from the queue, delivers them and records what happened. An
 * authorization problem holds the server's mail; the lane probes every few
 * minutes and releases everything as soon as a delivery works again or the
 * server's settings change.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import { hintForSmtpReply, hintForTokenError, type Hint } from '../auth/hints.js';
import { TokenError, toTokenError } from '../auth/token-error.js';
import { classify, retryDelay, type Decision, type Failure } from './classify.js';
import type { Connection } from './connect.js';
import { toDeliveryError, type DeliveryError, type RecipientReply, type SendResult } from './delivery.js';
import type { Spool } from './spool.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** How often a held server is probed with one message. */
export const PROBE_INTERVAL_MS = 5 * MINUTE;
/** How long concurrency stays lowered after a 432 4.3.2. */
const THROTTLE_MS = 10 * MINUTE;
/** A delegated refresh token is used at least this often, so it never lapses (AADSTS700082). */
export const KEEPALIVE_MS = DAY;
/** How long a server waits when its daily recipient budget is used up before looking again. */
const QUOTA_RECHECK_MS = 10 * MINUTE;

export interface SchedulerDeps {
  store: Store;
  spool: Spool;
  log: Logger;
  connect: (server: EmailServer) => Connection;
  now?: () => number;
  /** How often to look for settings changed by another process (CLI). */
  pollMs?: number;
}

export interface LaneState {
  serverId: number;
  inFlight: number;
  limit: number;
  held: boolean;
  pausedUntil: number;
}

/** What one attempt came to, for a caller that waits for it (Send Test Email). */
export interface AttemptSummary {
  ok: boolean;
  reply: string;
  hint: Hint | null;
}

export interface Scheduler {
  start(): void;
  /** Delivers a message the caller recorded as 'sending', now, recording the SMTP conversation. */
  deliverNow(messageId: string, transcript: string[]): Promise<AttemptSummary>;
  /** Looks at the queue now (new mail, a settings change, a test advancing its clock). */
  poke(): void;
  /** Resolves when no delivery is in flight. */
  idle(): Promise<void>;
  lanes(): LaneState[];
  stop(): Promise<void>;
}

interface Lane {
  server: EmailServer;
  conn: Connection | null;
  connError: TokenError | null;
  inFlight: number;
  limit: number;
  throttledUntil: number;
  /** Start times of attempts in the last minute (Messages per Minute). */
  starts: number[];
  pausedUntil: number;
  held: boolean;
  nextProbeAt: number;
  dailyUsed: number;
  dailyCheckedAt: number;
  reportedRefresh: number | null;
  keepAliveRunning: boolean;
}

/** Creates the scheduler over the store and spool; `connect` builds a server's upstream. */
export function createScheduler({ store, spool, log, connect, now = Date.now, pollMs = 2_000 }: SchedulerDeps): Scheduler {
  const { queue, servers } = store;
  const lanes = new Map<number, Lane>();
  let timer: NodeJS.Timeout | null = null;
  let poller: NodeJS.Timeout | null = null;
  let stopped = true;
  let idleWaiters: (() => void)[] = [];

  const inFlightTotal = (): number => [...lanes.values()].reduce((sum, lane) => sum + lane.inFlight, 0);

  const retire = (conn: Connection | null): void => {
    conn?.upstream.close();
  };

  const openLane = (server: EmailServer): Lane => {
    let conn: Connection | null = null;
    let connError: TokenError | null = null;
    try {
      conn = connect(server);
    } catch (err) {
      connError =
        err instanceof TokenError
          ? err
          : new TokenError({ message: (err as Error).message, aadsts: null, oauthError: 'not_configured', transient: false });
    }
    // New settings or a restart: whatever was held gets another try.
    const released = queue.releaseHeld(server.id, now());
    if (released > 0) log.info('retrying held mail', { server: server.name, messages: released });
    return {
      server,
      conn,
      connError,
      inFlight: 0,
      limit: server.maxConnections,
      throttledUntil: 0,
      starts: [],
      pausedUntil: 0,
      held: false,
      nextProbeAt: 0,
      dailyUsed: 0,
      dailyCheckedAt: -Infinity,
      reportedRefresh: null,
      keepAliveRunning: false,
    };
  };

  /** Syncs lanes with the servers table: new, changed (revision) and removed servers. */
  const syncLanes = (): void => {
    const revisions = servers.revisions();
    for (const [id, lane] of lanes) {
      if (revisions.get(id) === lane.server.revision) continue;
      retire(lane.conn);
      lanes.delete(id);
    }
    for (const id of revisions.keys()) {
      if (lanes.has(id)) continue;
      const server = servers.get(id);
      if (server) lanes.set(id, openLane(server));
    }
  };

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
    const reply =
      failure.kind === 'smtp'
        ? failure.reply
        : failure.message.startsWith(failure.code)
          ? failure.message
          : `${failure.code}: ${failure.message}`;
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

  const deliver = async (lane: Lane, message: QueuedMessage, transcript?: string[]): Promise<AttemptSummary> => {
    const conn = lane.conn;
    try {
      if (!conn) throw lane.connError as TokenError;
      const envelope = { from: message.mailFrom, to: queue.pendingRecipients(message.id) };
      const raw = (): Readable => spool.read(message.id);
      const result: SendResult = transcript
        ? await conn.upstream.sendWithTranscript(envelope, raw, transcript)
        : await conn.upstream.send(envelope, raw);
      if (lanes.get(lane.server.id) === lane) markWorking(lane);
      return settleRecipients(lane, message, result.accepted, result.rejected);
    } catch (err) {
      return settleFailure(lane, message, toDeliveryError(err));
    } finally {
      lane.inFlight--;
      if (inFlightTotal() === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      if (lanes.get(lane.server.id) !== lane && lane.inFlight === 0) retire(conn);
      pump();
    }
  };

  /** Refreshes an idle Authorize Account token once a day; a refusal holds the server like a failed delivery. */
  const keepAlive = (lane: Lane, t: number): void => {
    const tokens = lane.conn?.tokens;
    if (!tokens || lane.server.signInMode !== 'authorize' || lane.held || lane.keepAliveRunning) return;
    if (t - (tokens.refreshedAt ?? lane.server.tokenRefreshedAt ?? 0) < KEEPALIVE_MS) return;
    lane.keepAliveRunning = true;
    tokens
      .getAccessToken({ forceRefresh: true })
      .then(
        () => {
          if (lanes.get(lane.server.id) === lane) markWorking(lane);
        },
        (err: unknown) => {
          const error = toTokenError(err);
          if (!error.transient && lanes.get(lane.server.id) === lane)
            holdLane(lane, error.message, error.code, error.hint, 'not_authorized');
        },
      )
      .finally(() => {
        lane.keepAliveRunning = false;
      });
  };

  /** Starts what a lane may start now; returns when it next needs a look (or Infinity). */
  const fillLane = (lane: Lane, t: number): number => {
    const id = lane.server.id;
    if (lane.held) {
      queue.holdServer(id, 'waiting for the email server to work again', t);
      if (t < lane.nextProbeAt || lane.inFlight > 0) return lane.nextProbeAt;
      lane.nextProbeAt = t + PROBE_INTERVAL_MS;
      if (queue.releaseHeld(id, t, 1) === 0) return lane.nextProbeAt;
    }
    keepAlive(lane, t);
    if (lane.pausedUntil > t) return lane.pausedUntil;
    if (lane.limit < lane.server.maxConnections && t >= lane.throttledUntil) lane.limit = lane.server.maxConnections;
    if (t - lane.dailyCheckedAt > MINUTE) {
      lane.dailyUsed = queue.recipientsDeliveredSince(id, t - DAY);
      lane.dailyCheckedAt = t;
    }
    if (lane.dailyUsed >= lane.server.recipientsPerDay) {
      lane.pausedUntil = t + QUOTA_RECHECK_MS;
      log.warn('Recipients per Day reached; pausing', { server: lane.server.name, alert: true, used: lane.dailyUsed });
      return lane.pausedUntil;
    }
    while (lane.starts.length > 0 && (lane.starts[0] as number) <= t - MINUTE) lane.starts.shift();
    const byRate = lane.server.messagesPerMinute - lane.starts.length;
    const slots = Math.min(lane.limit - lane.inFlight, byRate, lane.held ? 1 : Infinity);
    if (slots <= 0) return byRate <= 0 ? (lane.starts[0] as number) + MINUTE : Infinity;
    const claimed = queue.claimDue(id, t, slots);
    for (const message of claimed) {
      lane.inFlight++;
      lane.starts.push(t);
      void deliver(lane, message);
    }
    if (claimed.length === slots) return Infinity;
    return queue.nextDueAt(id) ?? Infinity;
  };

  const pump = (): void => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = null;
    const t = now();
    let wakeAt = Infinity;
    for (const lane of lanes.values()) {
      try {
        wakeAt = Math.min(wakeAt, fillLane(lane, t));
      } catch (err) {
        log.error('scheduler error', { server: lane.server.name, error: (err as Error).message });
        wakeAt = Math.min(wakeAt, t + MINUTE);
      }
    }
    if (wakeAt !== Infinity) {
      // Timers beyond a minute are re-planned anyway; a minute bounds clock drift.
      timer = setTimeout(pump, Math.min(Math.max(wakeAt - t, 0), MINUTE));
      timer.unref();
    }
  };

  return {
    start() {
      stopped = false;
      syncLanes();
      poller = setInterval(() => {
        try {
          syncLanes();
        } catch (err) {
          log.error('cannot read email servers', { error: (err as Error).message });
        }
        pump();
      }, pollMs);
      poller.unref();
      pump();
    },
    poke() {
      syncLanes();
      pump();
    },
    async deliverNow(messageId, transcript) {
      syncLanes();
      const message = queue.get(messageId);
      const lane = message?.serverId !== null && message?.serverId !== undefined ? lanes.get(message.serverId) : undefined;
      if (!message || message.status !== 'sending' || !lane) throw new Error(`message ${messageId} cannot be sent now`);
      lane.inFlight++;
      return deliver(lane, message, transcript);
    },
    idle() {
      if (inFlightTotal() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    lanes: () =>
      [...lanes.values()].map((l) => ({
        serverId: l.server.id,
        inFlight: l.inFlight,
        limit: l.limit,
        held: l.held,
        pausedUntil: l.pausedUntil,
      })),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (poller) clearInterval(poller);
      await this.idle();
      for (const lane of lanes.values()) retire(lane.conn);
      lanes.clear();
    },
  };
}
