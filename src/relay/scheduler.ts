/**
 * The delivery scheduler. One lane per email server keeps under its limits
 * (Max Connections, Messages per Minute, Recipients per Day), claims due
 * messages from the queue, delivers them and records what happened. An
 * authorization problem holds the server's mail; the lane probes every few
 * minutes and releases everything as soon as a delivery works again or the
 * server's settings change.
 */
import type { Readable } from 'node:stream';
import { TokenError, toTokenError } from '../auth/token-error.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import { toDeliveryError, type SendResult } from './delivery.js';
import { laneSlots, newLane, type Lane, type LaneState } from './lane.js';
import { createOutcomes, PROBE_INTERVAL_MS, type AttemptSummary } from './outcomes.js';
import { applySenderPolicy } from './sender-policy.js';
import type { Spool } from './spool.js';

export type { AttemptSummary } from './outcomes.js';
export type { LaneState } from './lane.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
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

export interface Scheduler {
  start(): void;
  /** Delivers a message the caller recorded as 'sending', now, recording the SMTP conversation. */
  deliverNow(messageId: string, transcript: string[]): Promise<AttemptSummary>;
  /** Looks at the queue now (new mail, a test advancing its clock). */
  poke(): void;
  /** Starts every server afresh (settings or authorization changed): held mail is retried at once. */
  reload(): void;
  /** Resolves when no delivery is in flight. */
  idle(): Promise<void>;
  lanes(): LaneState[];
  stop(): Promise<void>;
}

/** Creates the scheduler over the store and spool; `connect` builds a server's upstream. */
export function createScheduler({ store, spool, log, connect, now = Date.now, pollMs = 2_000 }: SchedulerDeps): Scheduler {
  const { queue, servers } = store;
  const lanes = new Map<number, Lane>();
  let timer: NodeJS.Timeout | null = null;
  let poller: NodeJS.Timeout | null = null;
  let stopped = true;
  let idleWaiters: (() => void)[] = [];

  const outcomes = createOutcomes({ store, spool, log, now, isCurrent: (lane) => lanes.get(lane.server.id) === lane });
  const { settleRecipients, settleFailure, holdLane, markWorking } = outcomes;

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
    return newLane(server, conn, connError);
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

  const deliver = async (lane: Lane, message: QueuedMessage, transcript?: string[]): Promise<AttemptSummary> => {
    const conn = lane.conn;
    try {
      if (!conn) throw lane.connError as TokenError;
      // From Address Handling `rewrite` changes the envelope sender and the bytes on the way out; the spool keeps them as received.
      const { from, raw } = applySenderPolicy(lane.server, message.mailFrom, (): Readable => spool.read(message.id));
      const envelope = { from, to: queue.pendingRecipients(message.id) };
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
    if (!tokens || lane.server.signInMode !== 'authorize' || !lane.server.authorizedAccount || lane.held || lane.keepAliveRunning) return;
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
    if (t - lane.dailyCheckedAt > MINUTE) {
      lane.dailyUsed = queue.recipientsDeliveredSince(id, t - DAY);
      lane.dailyCheckedAt = t;
    }
    if (lane.dailyUsed >= lane.server.recipientsPerDay) {
      lane.pausedUntil = t + QUOTA_RECHECK_MS;
      log.warn('Recipients per Day reached; pausing', { server: lane.server.name, alert: true, used: lane.dailyUsed });
      return lane.pausedUntil;
    }
    const { slots, wakeAt } = laneSlots(lane, t);
    if (slots <= 0) return wakeAt;
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
    reload() {
      // A lane with attempts in flight is retired when its last attempt ends (see deliver).
      for (const lane of lanes.values()) if (lane.inFlight === 0) retire(lane.conn);
      lanes.clear();
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
