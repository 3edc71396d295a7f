/**
 * The planner: what a mailbox's lane may start now, as pure functions of the
 * lane's state and the time (Postfix's qmgr decides, its delivery agents
 * deliver). Exchange Online counts connections, messages per minute and
 * recipients per day per mailbox; Microsoft may pause a mailbox, and a
 * `432 4.3.2` lowers the connections for a while. A waiting Send Test Email
 * goes before the lane's mail, on a connection of its own; while mail is
 * arriving, mail attempts wait for the delivery pace (delivery-pace.ts).
 */

const MINUTE = 60_000;

/** Why a lane waits, in the words Send Test Email shows. */
export const WAIT = {
  paused: 'Microsoft paused this mailbox (daily quota)',
  connections: 'Max Connections: other mail is being delivered',
  rate: 'Messages per Minute',
  quota: 'Recipients per Day',
} as const;

export type WaitReason = (typeof WAIT)[keyof typeof WAIT];

/** What the planner looks at: one lane's state, as plain data. */
export interface LaneView {
  /** Attempts in flight. */
  inFlight: number;
  /** A test email runs on a connection of its own: nothing else may start meanwhile. */
  exclusive: boolean;
  /** A test email waits for its turn. */
  testWaiting: boolean;
  /** The lane's limits: the strictest of its servers' settings. */
  maxConnections: number;
  messagesPerMinute: number;
  /** Max Connections lowered after a 432 4.3.2, until `throttledUntil`; null when not lowered. */
  throttleLimit: number | null;
  throttledUntil: number;
  /** When recent attempts ended, oldest first (Microsoft counts a message when it arrives). */
  ends: readonly number[];
  /** Microsoft's quota reply pauses the mailbox until then. */
  pausedUntil: number;
}

/**
 * What may start now: the waiting test email, the lane's next mail, or nothing until `until`
 * (Infinity: until an attempt ends). `reason` is what a waiting test email is told (null: nothing).
 */
export type Plan = { start: 'test' | 'mail' } | Wait;

/** Nothing starts until `until`; a waiting test email is told `reason` unless it is null. */
export interface Wait {
  start: null;
  until: number;
  reason: WaitReason | null;
}

const wait = (until: number, reason: WaitReason | null): Wait => ({ start: null, until, reason });

/** Concurrent attempts the lane allows at `t` (Max Connections, lowered while throttled). */
export function connectionLimit(lane: Pick<LaneView, 'maxConnections' | 'throttleLimit' | 'throttledUntil'>, t: number): number {
  const throttled = lane.throttleLimit !== null && t < lane.throttledUntil;
  return throttled ? Math.min(lane.maxConnections, lane.throttleLimit as number) : lane.maxConnections;
}

/**
 * How many attempts a lane may start at `t` under its connection and rate
 * limits, and when to look again if none (Infinity: when an attempt ends).
 * An attempt in flight counts against the minute until a minute after it
 * ended, so no 60 seconds at the receiving side hold more than the limit.
 */
export function laneSlots(lane: LaneView, t: number): { slots: number; wakeAt: number } {
  let first = 0;
  while (first < lane.ends.length && (lane.ends[first] as number) <= t - MINUTE) first++;
  const recent = lane.ends.length - first;
  const byRate = lane.messagesPerMinute - recent - lane.inFlight;
  const slots = Math.min(connectionLimit(lane, t) - lane.inFlight, byRate);
  if (slots > 0) return { slots, wakeAt: Infinity };
  return { slots: 0, wakeAt: byRate <= 0 && recent > 0 ? (lane.ends[first] as number) + MINUTE : Infinity };
}

/**
 * What the lane may start at `t`; `paceDelay` is how long arriving mail still wants the event
 * loop (delivery-pace.ts). Called again after each start: each start changes the lane.
 */
export function planLane(lane: LaneView, t: number, paceDelay: number): Plan {
  // A second test email waits quietly for the one running: it goes as soon as that one ends.
  if (lane.exclusive) return wait(Infinity, null);
  if (lane.pausedUntil > t) return wait(lane.pausedUntil, WAIT.paused);
  const { slots, wakeAt } = laneSlots(lane, t);
  if (slots <= 0) return wait(wakeAt, wakeAt === Infinity ? WAIT.connections : WAIT.rate);
  if (lane.testWaiting) return lane.inFlight > 0 ? wait(Infinity, WAIT.connections) : { start: 'test' };
  // Clients sending mail go first.
  if (paceDelay > 0) return wait(t + paceDelay, null);
  return { start: 'mail' };
}

/**
 * The wait for the daily recipient budget, or null when the next work fits at `t`: the store says
 * when its recipients fit (`fitsAt`, as older reservations leave the rolling 24 hours).
 */
export function planQuota(fitsAt: number, t: number): Wait | null {
  return fitsAt > t ? wait(fitsAt, WAIT.quota) : null;
}
