/**
 * The delivery scheduler, in three parts: the planner says what each
 * mailbox's lane may start now (planner.ts, over lane.ts and
 * lane-registry.ts), the scheduler claims that work, and the runner carries
 * each attempt from claim to outcome under one lease (runner.ts). Due
 * messages are claimed oldest first, their recipients reserved against the
 * daily quota in the same store call; a Send Test Email is work in its lane
 * that goes before the lane's mail, on a connection of its own. While mail is
 * arriving, attempts are spaced out (delivery-pace.ts) and the lanes take
 * turns. An authorization problem holds a server's mail; the scheduler
 * probes every few minutes and releases everything once a delivery works
 * again or the server's settings change. Settings changes keep the lane and
 * its counters. Over Microsoft Graph, a message also waits for its app's
 * requests at once and its mailbox's request and upload windows.
 *
 * The store answers asynchronously, so the scheduler's work runs as steps,
 * one after another (`step`): syncing lanes with the servers and each look at
 * the lanes read and change lane state without another step in between.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoreSlice } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import { createDeliveryPace, type DeliveryPace } from './delivery-pace.js';
import { connectionLimit, laneLimits, laneSnapshot, laneView, tidyLane } from './lane.js';
import type { Lane, LaneState, Member, TestTurn } from './lane.js';
import { createLaneOwners, type LaneOwnersDeps } from './lane-owners.js';
import { createLaneRegistry, type LaneRegistryDeps } from './lane-registry.js';
import type { Notices } from './notices.js';
import { createOutcomes, PROBE_INTERVAL_MS, type Attempt, type AttemptSummary, type OutcomeDeps } from './outcomes.js';
import { expectedGraphCost, planGraph, planLane, planQuota, WAIT, waitFor, type Wait } from './planner.js';
import { createRunner, type RunnerDeps } from './runner.js';
import { createTokenChecks } from './token-checks.js';

export type { AttemptSummary } from './outcomes.js';
export type { LaneState } from './lane.js';
export { KEEPALIVE_MS } from './token-checks.js';

const MINUTE = 60_000;
/** Most attempts one look at a lane starts (a bound; the next look starts more). */
const MAX_STARTS_PER_LOOK = 1_000;

export interface SchedulerDeps {
  store: StoreSlice<{
    queue: 'get' | 'peekDue' | 'claimAndReserve' | 'pendingRecipients' | 'releaseHeld' | 'holdServer' | 'nextDueAt';
    laneState: 'save' | 'reserve' | 'fitsAt' | 'load' | 'startsSince';
  }> &
    LaneOwnersDeps['store'] &
    LaneRegistryDeps['store'] &
    OutcomeDeps['store'] &
    RunnerDeps['store'];
  spool: OutcomeDeps['spool'] & RunnerDeps['spool'];
  log: Logger;
  connect: (server: EmailServer) => Promise<Connection>;
  now?: () => number;
  /** How often to look for settings changed by another process (CLI). */
  pollMs?: number;
  /** Counts delivery outcomes when given. */
  metrics?: Metrics;
  /** Spaces attempt starts while mail arrives (delivery-pace.ts). */
  pace?: DeliveryPace;
  /** Records outcomes with the delivery status notifications they make owed (notices.ts). */
  notices: Pick<Notices, 'record'>;
}

export interface Scheduler {
  start(): void;
  /**
   * Queues a Send Test Email the caller recorded as 'sending' as work in its server's lane: it goes
   * before the lane's mail, on a connection of its own that records the conversation in
   * `transcript`, once the lane's limits let it; `onWait` is told once when it has to wait.
   */
  queueTest(messageId: string, transcript: string[], onWait?: (reason: string, until: number | null) => void): Promise<AttemptSummary>;
  /** Looks at the queue now (mail made due, a test advancing its clock); resolves once that look has started what it may. */
  poke(): Promise<void>;
  /** New mail was recorded: looks at the queue, and yields to the clients sending it while they do. */
  arrived(): void;
  /** Applies every server's settings again (settings or authorization changed): held mail is retried at once. */
  reload(): void;
  /** Resolves when no delivery is in flight. */
  idle(): Promise<void>;
  /** Deliveries in flight now. */
  inFlight(): number;
  /** The messages with a delivery in flight. */
  delivering(): string[];
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
  const { lanes, members, apps, ensureLink, activate, closeLink, dropIfUnused, syncLanes } = registry;
  const isCurrent = (a: Attempt): boolean => members.get(a.member.server.id) === a.member && a.member.generation === a.generation;
  const outcomes = createOutcomes({ store, spool, log, now, isCurrent, metrics, notices });
  const checks = createTokenChecks({ log, members, ensureLink, outcomes });
  const owners = createLaneOwners({
    store,
    log,
    now,
    // Another instance may open sockets at those mailboxes now: this one's close at once.
    lost: (keys) => {
      for (const key of keys) {
        const lane = lanes.get(key);
        if (lane?.active) closeLink(lane.active);
        if (lane) lane.active = null;
      }
      void pump();
    },
    wanted: () => void pump(),
    // A Send Test Email waiting on another instance is noticed within two looks for changed settings.
    renewMs: 2 * pollMs,
  });

  /** Runs `work`, logging (as an alert) instead of throwing: nothing here may end the process. */
  const safely = async (what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      log.error(what, { alert: true, error: (err as Error).message });
    }
  };
  /** The last step queued; each step starts once the one before it has ended. */
  let steps: Promise<void> = Promise.resolve();
  /** Queues `work` after every step before it; what it throws is logged. */
  const step = (what: string, work: () => Promise<void>): Promise<void> => (steps = steps.then(() => safely(what, work)));

  const inFlightTotal = (): number => [...lanes.values()].reduce((sum, lane) => sum + lane.leases.size, 0);

  /** Stores the lane's pause and throttle when they changed (most attempts change neither). */
  const saveLane = async (lane: Lane): Promise<void> => {
    const snapshot = laneSnapshot(lane);
    const text = JSON.stringify(snapshot);
    if (text === saved.get(lane.key)) return;
    saved.set(lane.key, text);
    try {
      await laneState.save(lane.key, snapshot, now());
    } catch (err) {
      saved.delete(lane.key);
      throw err;
    }
  };

  /** An attempt gave its lease back: the lane's state is kept, an unused lane goes, and the queue gets a look. */
  const ended = (lane: Lane): void => {
    void safely('cannot store lane state', () => saveLane(lane));
    dropIfUnused(lane);
    if (inFlightTotal() === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    void pump();
  };
  const runner = createRunner({ store, spool, log, now, outcomes, isCurrent, ended });

  /**
   * Whether this instance delivers the lane's mail now: it holds the lane, or it has work there and
   * took the lane. A holder that another instance waits for lets go while it has nothing in flight.
   */
  const own = async (lane: Lane, t: number, ready: number[]): Promise<boolean> => {
    const test = lane.tests[0];
    if (owners.holds(lane.key)) {
      if (!owners.isWanted(lane.key) || lane.leases.size > 0 || test) return true;
      // Nothing in flight: the lane's sockets close before another instance may open its own.
      activate(lane, null, t);
      await owners.release(lane.key, t);
      return false;
    }
    if (!test && (await queue.peekDue(ready, t, 1)).length === 0) return false;
    const apps = new Set([...lane.members.values()].flatMap((m) => (m.app ? [m.app.key] : [])));
    const holder = await owners.take({ key: lane.key, apps: [...apps] }, t, test !== undefined);
    if (holder !== null) {
      if (test) tell(test, waitFor(Infinity, WAIT.elsewhere));
      return false;
    }
    await carryOn(lane, t);
    return true;
  };

  /**
   * A lane this instance just took carries on from what the store knows, since another instance may
   * have delivered there: the pause and throttle, the messages of the last minute (counted as ending
   * now, the safe side), and a probe of the mail a server's authorization problem holds.
   */
  const carryOn = async (lane: Lane, t: number): Promise<void> => {
    const stored = await laneState.load(lane.key);
    if (stored) Object.assign(lane, stored);
    const known = lane.ends.filter((end) => end > t - MINUTE).length;
    for (let n = await laneState.startsSince(lane.key, t - MINUTE); n > known; n--) lane.ends.push(t);
    for (const member of lane.members.values()) if (!member.held) await queue.releaseHeld(member.server.id, t, 1);
  };

  /** A held server's next probe message, released from hold now when a probe is due. */
  const probe = async (lane: Lane, t: number): Promise<QueuedMessage | undefined> => {
    for (const member of lane.members.values()) {
      if (!member.held || t < member.nextProbeAt || member.leases.size > 0) continue;
      member.nextProbeAt = t + PROBE_INTERVAL_MS;
      if ((await queue.releaseHeld(member.server.id, t, 1)) > 0) return (await queue.peekDue([member.server.id], t, 1))[0];
    }
    return undefined;
  };

  /** The wait for the daily recipient budget, or null when `recipients` fit now. */
  const quotaWait = async (lane: Lane, recipients: number, t: number): Promise<Wait | null> => {
    const wait = planQuota(await laneState.fitsAt(lane.key, recipients, laneLimits(lane).recipientsPerDay, t), t);
    if (wait && lane.quotaUntil <= t) {
      log.warn('Recipients per Day reached; waiting', { mailbox: lane.key, alert: true, until: new Date(wait.until).toISOString() });
    }
    lane.quotaUntil = wait ? wait.until : 0;
    return wait;
  };

  /** The wait for Graph's request and upload windows before `member` sends `message`, or null (also for servers not on Graph). */
  const graphWait = (lane: Lane, member: Member, message: QueuedMessage, t: number): Wait | null =>
    member.app ? planGraph(laneView(lane), expectedGraphCost(message.size), t) : null;

  /** Tells a waiting test email, once, why and until when it waits. */
  const tell = (test: TestTurn, wait: Wait): void => {
    if (test.waitReported || wait.reason === null) return;
    test.waitReported = true;
    test.onWait(wait.reason, wait.until === Infinity ? null : wait.until);
  };

  /** Starts the lane's waiting test email on a connection of its own (the lane's pool closes first), or says why it waits. */
  const startTest = async (lane: Lane, test: TestTurn, t: number): Promise<Wait | null> => {
    if (!activate(lane, null, t)) return { start: null, until: Infinity, reason: WAIT.connections };
    const { member, message, transcript } = test;
    const wait = (await quotaWait(lane, 1, t)) ?? graphWait(lane, member, message, t);
    if (wait) return wait;
    lane.tests.shift();
    const reservation = { id: await laneState.reserve(lane.key, message.id, 1, t), recipients: 1 };
    void runner.run({ member, link: await ensureLink(member), message, reservation, transcript }).then(test.done);
    return null;
  };

  /** Starts what a lane may start now; returns when it next needs a look (or Infinity). */
  const serveLane = async (lane: Lane, t: number): Promise<number> => {
    let wakeAt = Infinity;
    for (const member of lane.members.values()) {
      await checks.keepAlive(member, t);
      if (!member.held) continue;
      await queue.holdServer(member.server.id, 'waiting for the email server to work again', t);
      wakeAt = Math.min(wakeAt, member.nextProbeAt);
    }
    tidyLane(lane, t);
    const ready = [...lane.members.values()].filter((m) => !m.held).map((m) => m.server.id);
    if (!(await own(lane, t, ready))) return wakeAt;
    for (let started = 0; started < MAX_STARTS_PER_LOOK; started++) {
      const test = lane.tests[0];
      const plan = planLane(laneView(lane), t, pace.delay());
      if (plan.start === null) {
        if (test) tell(test, plan);
        return Math.min(wakeAt, plan.until);
      }
      if (test && plan.start === 'test') {
        const wait = await startTest(lane, test, t);
        if (wait) tell(test, wait);
        return Math.min(wakeAt, wait?.until ?? Infinity);
      }
      const next = (await probe(lane, t)) ?? (await queue.peekDue(ready, t, 1))[0];
      if (!next) break;
      const member = members.get(next.serverId as number) as Member;
      // A message that would overrun Graph's windows waits, and the mail after it with it (oldest first).
      const windows = graphWait(lane, member, next, t);
      if (windows) return Math.min(wakeAt, windows.until);
      const link = await ensureLink(member);
      // Another link of this mailbox still delivers: its sockets close first.
      if (link && !activate(lane, link, t)) return wakeAt;
      const recipients = (await queue.pendingRecipients(next.id)).length;
      const wait = await quotaWait(lane, recipients, t);
      if (wait) return Math.min(wakeAt, wait.until);
      const claim = await queue.claimAndReserve(next.id, lane.key, recipients, t);
      if (!claim) continue;
      pace.started();
      lastStarted = lane;
      void runner.run({ member, link, message: claim.message, reservation: { id: claim.reservationId, recipients } });
    }
    for (const id of ready) wakeAt = Math.min(wakeAt, (await queue.nextDueAt(id)) ?? Infinity);
    return wakeAt;
  };

  /** A look at the lanes is queued and has not started yet: another request joins it. */
  let pumpQueued = false;

  /** The look at the lanes queued last. */
  let nextLook: Promise<void> = Promise.resolve();
  /** Queues a look at every lane (one at most waits; it sees everything asked of it until it starts); returns it. */
  function pump(): Promise<void> {
    if (stopped || pumpQueued) return nextLook;
    pumpQueued = true;
    nextLook = step('scheduler error', async () => {
      pumpQueued = false;
      if (!stopped) await lookAtLanes();
    });
    return nextLook;
  }

  /** Serves every lane in turn and sets the timer for the next look. */
  async function lookAtLanes(): Promise<void> {
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
        wakeAt = Math.min(wakeAt, await serveLane(lane, t));
      } catch (err) {
        log.error('scheduler error', { mailbox: lane.key, alert: true, error: (err as Error).message });
        wakeAt = Math.min(wakeAt, t + MINUTE);
      }
    }
    // A lane that went (its servers removed or changed mailbox) is given back.
    for (const key of owners.held()) if (!lanes.has(key)) await owners.release(key, t);
    if (wakeAt !== Infinity) {
      // Timers beyond a minute are re-planned anyway; a minute bounds clock drift.
      timer = setTimeout(pump, Math.min(Math.max(wakeAt - t, 0), MINUTE));
      timer.unref();
    }
  }

  const look = (all = false): Promise<void> => {
    // A stopping relay starts nothing, not even a token check for a server it would set up again.
    if (stopped) return Promise.resolve();
    void step('cannot read email servers', async () => {
      if (!stopped) await syncLanes(all);
    });
    return pump();
  };

  return {
    start() {
      stopped = false;
      owners.start();
      poller = setInterval(look, pollMs);
      poller.unref();
      void look();
    },
    poke: () => look(),
    arrived() {
      pace.arrived();
      void look();
    },
    reload: () => void look(true),
    async queueTest(messageId, transcript, onWait = () => undefined) {
      let turn: Omit<TestTurn, 'done' | 'cancel'> | null = null;
      await step('cannot read email servers', async () => {
        await syncLanes();
        const message = await queue.get(messageId);
        const member = message?.serverId !== null && message?.serverId !== undefined ? members.get(message.serverId) : undefined;
        if (message && message.status === 'sending' && member && !stopped)
          turn = { member, message, transcript, onWait, waitReported: false };
      });
      const ready = turn as Omit<TestTurn, 'done' | 'cancel'> | null;
      if (!ready || stopped) throw new Error(`message ${messageId} cannot be sent now`);
      return new Promise<AttemptSummary>((done, cancel) => {
        ready.member.lane.tests.push({ ...ready, done, cancel });
        void pump();
      });
    },
    idle() {
      if (inFlightTotal() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    inFlight: inFlightTotal,
    delivering: () => runner.delivering(),
    lanes: () =>
      [...members.values()].map((m) => ({
        serverId: m.server.id,
        key: m.lane.key,
        inFlight: m.lane.leases.size,
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
      await steps;
      await this.idle();
      for (const lane of lanes.values()) if (lane.active) closeLink(lane.active);
      await owners.stop();
      lanes.clear();
      lastStarted = null;
      members.clear();
      apps.clear();
    },
  };
}
