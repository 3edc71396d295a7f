/**
 * The planner: what a mailbox's lane may start now, as pure functions of the
 * lane's state and the time (Postfix's qmgr decides, its delivery agents
 * deliver). Exchange Online counts connections, messages per minute and
 * recipients per day per mailbox; Microsoft may pause a mailbox, and a
 * `432 4.3.2` lowers the connections for a while. Over Microsoft Graph, an
 * app's requests at once are limited across its mailboxes, and each mailbox's
 * requests and uploaded bytes in rolling windows. A waiting Send Test Email
 * goes before the lane's mail, on a connection of its own; while mail is
 * arriving, mail attempts wait for the delivery pace (delivery-pace.ts).
 */

const MINUTE = 60_000;

/**
 * Microsoft Graph's limits per app and mailbox (Outlook resources): 10,000 requests per 10
 * minutes and 150 MB of uploads per 5 minutes. "MB" is read as 10^6 bytes, the stricter reading.
 */
export const GRAPH_LIMITS = {
  requests: 10_000,
  requestWindowMs: 10 * MINUTE,
  uploadBytes: 150_000_000,
  uploadWindowMs: 5 * MINUTE,
} as const;

/** What a Graph attempt costs against the windows: its requests and the bytes of their bodies. */
export interface GraphCost {
  requests: number;
  uploadedBytes: number;
}

/** An ended Graph attempt's cost, counted from when it ended (Microsoft counted it before then). */
export interface GraphUse extends GraphCost {
  at: number;
}

/** Why a lane waits, in the words Send Test Email shows. */
export const WAIT = {
  paused: 'Microsoft paused this mailbox (daily quota or Retry-After)',
  connections: 'Max Connections: other mail is being delivered',
  elsewhere: "Max Connections: another relay365 instance delivers this mailbox's mail",
  rate: 'Messages per Minute',
  quota: 'Recipients per Day',
  app: 'Graph Requests at Once: other mail of this app is being delivered',
  graphRequests: "Microsoft Graph's 10,000 requests per 10 minutes",
  graphUploads: "Microsoft Graph's 150 MB of uploads per 5 minutes",
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
  /** Microsoft's quota reply (or Graph's Retry-After) pauses the mailbox until then. */
  pausedUntil: number;
  /** Attempts the lane's Graph apps still allow (Graph Requests at Once); Infinity when none sends via Graph. */
  appFree: number;
  /** Ended Graph attempts within the longer window, oldest first. */
  graphUsed: readonly GraphUse[];
  /** What the Graph attempts in flight are expected to cost until they report what they did. */
  graphInFlight: GraphCost;
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

/** Nothing starts until `until`, for `reason`. */
export const waitFor = (until: number, reason: WaitReason | null): Wait => ({ start: null, until, reason });

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
  if (lane.exclusive) return waitFor(Infinity, null);
  if (lane.pausedUntil > t) return waitFor(lane.pausedUntil, WAIT.paused);
  const { slots, wakeAt } = laneSlots(lane, t);
  if (slots <= 0) return waitFor(wakeAt, wakeAt === Infinity ? WAIT.connections : WAIT.rate);
  // The app's requests at once are shared with its other mailboxes: one of their attempts ending frees one.
  if (lane.appFree <= 0) return waitFor(Infinity, WAIT.app);
  if (lane.testWaiting) return lane.inFlight > 0 ? waitFor(Infinity, WAIT.connections) : { start: 'test' };
  // Clients sending mail go first.
  if (paceDelay > 0) return waitFor(t + paceDelay, null);
  return { start: 'mail' };
}

/**
 * The wait for the daily recipient budget, or null when the next work fits at `t`: the store says
 * when its recipients fit (`fitsAt`, as older reservations leave the rolling 24 hours).
 */
export function planQuota(fitsAt: number, t: number): Wait | null {
  return fitsAt > t ? waitFor(fitsAt, WAIT.quota) : null;
}

/**
 * What a Graph attempt for a message of `size` bytes is expected to cost until it reports what it
 * did: at most its MIME in base64 uploaded, and a request per 3 MiB of that (the most a request
 * under Graph's 4 MB limit carries) plus two (a draft and its send, or a retry with a fresh token).
 */
export function expectedGraphCost(size: number): GraphCost {
  const uploadedBytes = Math.ceil(size / 3) * 4;
  return { requests: 2 + Math.ceil(uploadedBytes / (3 * 1024 * 1024)), uploadedBytes };
}

/** One of Graph's rolling windows: what it counts, over how long, up to how much, and what a wait for it is called. */
interface GraphWindow {
  count: (cost: GraphCost) => number;
  ms: number;
  limit: number;
  reason: WaitReason;
}

const GRAPH_WINDOWS: readonly GraphWindow[] = [
  { count: (c) => c.uploadedBytes, ms: GRAPH_LIMITS.uploadWindowMs, limit: GRAPH_LIMITS.uploadBytes, reason: WAIT.graphUploads },
  { count: (c) => c.requests, ms: GRAPH_LIMITS.requestWindowMs, limit: GRAPH_LIMITS.requests, reason: WAIT.graphRequests },
];

/**
 * When `cost` fits in `window` at `t` besides the ended use and the attempts in flight: `t` when it
 * does, when enough ended use leaves the window, or Infinity when only the attempts in flight stand
 * in the way (look again when one ends). A cost over the whole budget goes once nothing else
 * counts (lane-state.ts does the same for the daily quota).
 */
function windowFitsAt(window: GraphWindow, lane: Pick<LaneView, 'graphUsed' | 'graphInFlight'>, cost: GraphCost, t: number): number {
  const need = Math.min(window.count(cost), window.limit);
  const recent = lane.graphUsed.filter((use) => use.at > t - window.ms);
  let total = recent.reduce((sum, use) => sum + window.count(use), window.count(lane.graphInFlight));
  if (total + need <= window.limit) return t;
  for (const use of recent) {
    total -= window.count(use);
    if (total + need <= window.limit) return use.at + window.ms;
  }
  return Infinity;
}

/**
 * The wait for Graph's request and upload windows before a Graph attempt expected to cost `cost`,
 * or null when it fits at `t`: the later of the two waits, with its reason.
 */
export function planGraph(lane: Pick<LaneView, 'graphUsed' | 'graphInFlight'>, cost: GraphCost, t: number): Wait | null {
  let later: Wait | null = null;
  for (const window of GRAPH_WINDOWS) {
    const until = windowFitsAt(window, lane, cost, t);
    if (until > t && (later === null || until > later.until)) later = waitFor(until, window.reason);
  }
  return later;
}
