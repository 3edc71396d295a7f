/**
 * The delivery scheduler. One lane per mailbox (lane.ts) keeps every server
 * that sends as it, and Send Test Email, under the mailbox's limits: Max
 * Connections, Messages per Minute counted where Microsoft counts them, and
 * Recipients per Day reserved when a message is claimed. It claims due
 * messages oldest first, delivers them and records what happened; while mail
 * is arriving, attempts are spaced out (delivery-pace.ts) and the lanes take
 * turns. An authorization problem holds a server's mail; the scheduler probes
 * every few minutes and releases everything once a delivery works again or
 * the server's settings change. Settings changes keep the lane and its
 * counters.
 */
import type { Readable } from 'node:stream';
import type { TokenError } from '../auth/token-error.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import type { Store } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import { toDeliveryError, type DeliveryError, type SendResult } from './delivery.js';
import { createDeliveryPace, type DeliveryPace } from './delivery-pace.js';
import { laneLimits, laneSlots, laneSnapshot, connectionLimit } from './lane.js';
import type { Lane, LaneState, Link, Member, TestTurn } from './lane.js';
import { createLaneRegistry } from './lane-registry.js';
import type { Notices } from './notices.js';
import { createOutcomes, PROBE_INTERVAL_MS, type Attempt, type AttemptSummary } from './outcomes.js';
import { applySenderPolicy } from './sender-policy.js';
import type { Spool } from './spool.js';
import { createTokenChecks } from './token-checks.js';

export type { AttemptSummary } from './outcomes.js';
export type { LaneState } from './lane.js';
export { KEEPALIVE_MS } from './token-checks.js';

const MINUTE = 60_000;
/** Most attempts one look at a lane starts (a bound; the next look starts more). */
const MAX_STARTS_PER_LOOK = 1_000;

/** Recipients reserved against the daily quota for one attempt. */
interface Reservation {
  id: number;
  recipients: number;
}

export interface SchedulerDeps {
  store: Store;
  spool: Spool;
  log: Logger;
  connect: (server: EmailServer) => Connection;
  now?: () => number;
  /** How often to look for settings changed by another process (CLI). */
  pollMs?: number;
  /** Counts delivery outcomes when given. */
  metrics?: Metrics;
  /** Spaces attempt starts while mail arrives (delivery-pace.ts). */
  pace?: DeliveryPace;
  /** Delivery status notifications that outcomes make owed (notices.ts). */
  notices: Notices;
}

export interface Scheduler {
  start(): void;
  /**
   * Delivers a message the caller recorded as 'sending' (a test email) through its server's
   * lane, recording the SMTP conversation; `onWait` is told when it has to wait for a limit.
   */
  deliverNow(messageId: string, transcript: string[], onWait?: (reason: string, until: number | null) => void): Promise<AttemptSummary>;
  /** Looks at the queue now (mail made due, a test advancing its clock). */
  poke(): void;
  /** New mail was recorded: looks at the queue, and yields to the clients sending it while they do. */
  arrived(): void;
  /** Applies every server's settings again (settings or authorization changed): held mail is retried at once. */
  reload(): void;
  /** Resolves when no delivery is in flight. */
  idle(): Promise<void>;
  /** Deliveries in flight now. */
  inFlight(): number;
  lanes(): LaneState[];
  stop(): Promise<void>;
}

/** Creates the scheduler over the store and spool; `connect` builds a server's upstream. */
export function createScheduler({
  store,
  spool,
  log,
  connect,
  now = Date.now,
  pollMs = 2_000,
  metrics,
  pace = createDeliveryPace(),
  notices,
}: SchedulerDeps): Scheduler {
  const { queue, laneState } = store;
  /** The lane state last stored, per lane. */
  const saved = new Map<string, string>();
  let timer: NodeJS.Timeout | null = null;
  let poller: NodeJS.Timeout | null = null;
  let stopped = true;
  /** The lane of the last attempt started. */
  let lastStarted: Lane | null = null;
  let idleWaiters: (() => void)[] = [];

  // A server whose settings were applied gets its token checked again (after `checks` exists: no sync runs before start()).
  const registry = createLaneRegistry({ store, log, now, connect, onSettings: (member) => checks.recheck(member) });
  const { lanes, members, ensureLink, activate, closeLink, dropIfUnused, syncLanes } = registry;
  const isCurrent = (a: Attempt): boolean => members.get(a.member.server.id) === a.member && a.member.generation === a.generation;
  const outcomes = createOutcomes({ store, spool, log, now, isCurrent, metrics, notices });
  const { settleRecipients, settleFailure, markWorking } = outcomes;
  const checks = createTokenChecks({ log, members, ensureLink, outcomes });

  /** Runs `work`, logging (as an alert) instead of throwing: nothing here may end the process. */
  const safely = (what: string, work: () => void): void => {
    try {
      work();
    } catch (err) {
      log.error(what, { alert: true, error: (err as Error).message });
    }
  };

  const inFlightTotal = (): number => [...lanes.values()].reduce((sum, lane) => sum + lane.inFlight, 0);

  /** Stores the lane's pause and throttle when they changed (most attempts change neither). */
  const saveLane = (lane: Lane): void => {
    const snapshot = laneSnapshot(lane);
    const text = JSON.stringify(snapshot);
    if (text === saved.get(lane.key)) return;
    laneState.save(lane.key, snapshot, now());
    saved.set(lane.key, text);
  };

  /** One attempt on `link` (null: the server cannot be connected); never rejects. */
  const run = async (member: Member, link: Link | null, message: QueuedMessage, reservation: Reservation, transcript?: string[]) => {
    const lane = member.lane;
    const attempt: Attempt = { member, conn: link?.conn ?? null, generation: member.generation };
    lane.inFlight++;
    member.inFlight++;
    if (link) link.inFlight++;
    let summary: AttemptSummary = { ok: false, reply: 'the relay could not record this attempt', hint: null };
    try {
      let result: SendResult | null = null;
      let error: DeliveryError | null = null;
      try {
        if (!link) throw member.connError as TokenError;
        // From Address Handling `rewrite` changes the envelope sender and the bytes on the way out; the spool keeps them as received.
        const { from, raw } = applySenderPolicy(member.server, message.mailFrom, (): Readable => spool.read(message.id));
        const envelope = {
          from,
          to: queue.pendingRecipients(message.id),
          queueId: message.id,
          body8bit: message.body8bit,
          size: message.size,
        };
        result = transcript
          ? await link.conn.upstream.sendWithTranscript(envelope, raw, transcript)
          : await link.conn.upstream.send(envelope, raw);
      } catch (err) {
        error = toDeliveryError(err);
      }
      laneState.settle(reservation.id, reservation.recipients, result?.accepted.length ?? 0);
      if (result) {
        if (isCurrent(attempt)) markWorking(member, attempt.conn);
        summary = settleRecipients(attempt, message, result.accepted, result.rejected);
      } else {
        summary = settleFailure(attempt, message, error as DeliveryError);
      }
    } catch (err) {
      log.error('cannot record a delivery attempt', {
        alert: true,
        queueId: message.id,
        server: member.server.name,
        error: (err as Error).message,
      });
    } finally {
      // Microsoft counts a message when it arrives, which is before this moment.
      lane.ends.push(now());
      lane.inFlight--;
      member.inFlight--;
      if (link) link.inFlight--;
      if (transcript) lane.exclusive = false;
      safely('cannot store lane state', () => saveLane(lane));
      dropIfUnused(lane);
      if (inFlightTotal() === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      pump();
    }
    return summary;
  };

  /** A held server's next probe message, released from hold now when a probe is due. */
  const probe = (lane: Lane, t: number): QueuedMessage | undefined => {
    for (const member of lane.members.values()) {
      if (!member.held || t < member.nextProbeAt || member.inFlight > 0) continue;
      member.nextProbeAt = t + PROBE_INTERVAL_MS;
      if (queue.releaseHeld(member.server.id, t, 1) > 0) return queue.peekDue([member.server.id], t, 1)[0];
    }
    return undefined;
  };

  /** Claims a message and reserves its recipients in one transaction; undefined when it is no longer waiting. */
  const claimReserving = store.db.transaction((lane: Lane, message: QueuedMessage, recipients: number, t: number) => {
    const claimed = queue.claim(message.id, t);
    return claimed ? { claimed, reservation: laneState.reserve(lane.key, message.id, recipients, t) } : undefined;
  });

  /** Waits for the daily recipient budget: returns when `recipients` fit (t when they fit now). */
  const quotaWait = (lane: Lane, recipients: number, t: number): number => {
    const at = laneState.fitsAt(lane.key, recipients, laneLimits(lane).recipientsPerDay, t);
    if (at > t && lane.quotaUntil <= t) {
      log.warn('Recipients per Day reached; waiting', { mailbox: lane.key, alert: true, until: new Date(at).toISOString() });
    }
    lane.quotaUntil = at > t ? at : 0;
    return at;
  };

  /** Lets a waiting test email go when the lane can; returns when to look again. */
  const serveTest = (lane: Lane, test: TestTurn, t: number): number => {
    const tell = (reason: string, until: number | null): void => {
      if (test.waitReported) return;
      test.waitReported = true;
      test.onWait(reason, until);
    };
    if (lane.pausedUntil > t) return (tell('Microsoft paused this mailbox (daily quota)', lane.pausedUntil), lane.pausedUntil);
    const { slots, wakeAt } = laneSlots(lane, t);
    if (slots <= 0) {
      tell(
        wakeAt === Infinity ? 'Max Connections: other mail is being delivered' : 'Messages per Minute',
        wakeAt === Infinity ? null : wakeAt,
      );
      return wakeAt;
    }
    // The test opens a connection of its own: the lane's pool closes first.
    if (lane.inFlight > 0 || !activate(lane, null, t)) return (tell('Max Connections: other mail is being delivered', null), Infinity);
    const fitsAt = quotaWait(lane, 1, t);
    if (fitsAt > t) return (tell('Recipients per Day', fitsAt), fitsAt);
    lane.tests.shift();
    lane.exclusive = true;
    test.go(laneState.reserve(lane.key, test.messageId, 1, t));
    return Infinity;
  };

  /** Starts what a lane may start now; returns when it next needs a look (or Infinity). */
  const fillLane = (lane: Lane, t: number): number => {
    let wakeAt = Infinity;
    for (const member of lane.members.values()) {
      checks.keepAlive(member, t);
      if (!member.held) continue;
      queue.holdServer(member.server.id, 'waiting for the email server to work again', t);
      wakeAt = Math.min(wakeAt, member.nextProbeAt);
    }
    const test = lane.tests[0];
    if (test && !lane.exclusive) return Math.min(wakeAt, serveTest(lane, test, t));
    if (lane.exclusive) return wakeAt;
    if (lane.pausedUntil > t) return Math.min(wakeAt, lane.pausedUntil);
    const ready = [...lane.members.values()].filter((m) => !m.held).map((m) => m.server.id);
    for (let started = 0; started < MAX_STARTS_PER_LOOK; started++) {
      const { slots, wakeAt: rateWake } = laneSlots(lane, t);
      if (slots <= 0) return Math.min(wakeAt, rateWake);
      // Clients sending mail go first (delivery-pace.ts).
      const delay = pace.delay();
      if (delay > 0) return Math.min(wakeAt, t + delay);
      const next = probe(lane, t) ?? queue.peekDue(ready, t, 1)[0];
      if (!next) break;
      const member = members.get(next.serverId as number) as Member;
      const link = ensureLink(member);
      // Another link of this mailbox still delivers: its sockets close first.
      if (link && !activate(lane, link, t)) return wakeAt;
      const recipients = queue.pendingRecipients(next.id).length;
      const fitsAt = quotaWait(lane, recipients, t);
      if (fitsAt > t) return Math.min(wakeAt, fitsAt);
      const claim = claimReserving(lane, next, recipients, t);
      if (!claim) continue;
      pace.started();
      lastStarted = lane;
      void run(member, link, claim.claimed, { id: claim.reservation, recipients });
    }
    for (const id of ready) wakeAt = Math.min(wakeAt, queue.nextDueAt(id) ?? Infinity);
    return wakeAt;
  };

  function pump(): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = null;
    const t = now();
    let wakeAt = Infinity;
    // Lanes take turns: the look starts after the lane that started the last attempt, so that
    // paced starts (one per look) go round every mailbox with mail waiting.
    const order = [...lanes.values()];
    const first = lastStarted ? order.indexOf(lastStarted) + 1 : 0;
    for (const lane of [...order.slice(first), ...order.slice(0, first)]) {
      try {
        wakeAt = Math.min(wakeAt, fillLane(lane, t));
      } catch (err) {
        log.error('scheduler error', { mailbox: lane.key, alert: true, error: (err as Error).message });
        wakeAt = Math.min(wakeAt, t + MINUTE);
      }
    }
    if (wakeAt !== Infinity) {
      // Timers beyond a minute are re-planned anyway; a minute bounds clock drift.
      timer = setTimeout(pump, Math.min(Math.max(wakeAt - t, 0), MINUTE));
      timer.unref();
    }
  }

  const look = (all = false): void => {
    // A stopping relay starts nothing, not even a token check for a server it would set up again.
    if (stopped) return;
    safely('cannot read email servers', () => syncLanes(all));
    pump();
  };

  return {
    start() {
      stopped = false;
      poller = setInterval(look, pollMs);
      poller.unref();
      look();
    },
    poke: () => look(),
    arrived() {
      pace.arrived();
      look();
    },
    reload: () => look(true),
    async deliverNow(messageId, transcript, onWait = () => undefined) {
      syncLanes();
      const message = queue.get(messageId);
      const member = message?.serverId !== null && message?.serverId !== undefined ? members.get(message.serverId) : undefined;
      if (!message || message.status !== 'sending' || !member || stopped) throw new Error(`message ${messageId} cannot be sent now`);
      const reservation = await new Promise<number>((go, cancel) => {
        member.lane.tests.push({ member, messageId, go, cancel, onWait, waitReported: false });
        pump();
      });
      return run(member, ensureLink(member), message, { id: reservation, recipients: 1 }, transcript);
    },
    idle() {
      if (inFlightTotal() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    inFlight: inFlightTotal,
    lanes: () =>
      [...members.values()].map((m) => ({
        serverId: m.server.id,
        key: m.lane.key,
        inFlight: m.lane.inFlight,
        limit: connectionLimit(m.lane, now()),
        held: m.held,
        pausedUntil: m.lane.pausedUntil,
        quotaUntil: m.lane.quotaUntil,
      })),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (poller) clearInterval(poller);
      for (const lane of lanes.values()) for (const test of lane.tests.splice(0)) test.cancel(new Error('the relay is stopping'));
      await this.idle();
      for (const lane of lanes.values()) if (lane.active) closeLink(lane.active);
      lanes.clear();
      lastStarted = null;
      members.clear();
    },
  };
}
