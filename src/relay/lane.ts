/**
 * Lanes: the scheduler's state per mailbox, and the leases of the attempts on it.
 * Exchange Online counts connections, messages per minute and recipients per
 * day per mailbox, so every email server that sends as one mailbox (and Send
 * Test Email) shares one lane. Each server is a member of its lane with its
 * own settings and connection; only one connection of a lane may hold
 * sockets at a time, so idle pooled sockets of one server never push another
 * over Microsoft's connection limit.
 */
import type { TokenError } from '../auth/token-error.js';
import type { LaneSnapshot } from '../store/lane-state.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import type { AttemptSummary } from './outcomes.js';
import { connectionLimit as limitAt, type LaneView } from './planner.js';

const MINUTE = 60_000;

/** One server's connection (token provider and pool) and the attempts running on it. */
export interface Link {
  conn: Connection;
  leases: Set<Lease>;
  /** Set once its pool was closed; a new link is made when the server needs one again. */
  closed: boolean;
}

/** An email server in its mailbox's lane. */
export interface Member {
  server: EmailServer;
  lane: Lane;
  /** Null until the server needs a connection, and after its link was closed. */
  link: Link | null;
  /** Why the server cannot be connected (settings incomplete), when it cannot. */
  connError: TokenError | null;
  /** Bumped by every settings change: an attempt started before it reports to an older generation. */
  generation: number;
  leases: Set<Lease>;
  held: boolean;
  nextProbeAt: number;
  reportedRefresh: number | null;
  keepAliveRunning: boolean;
}

/**
 * One attempt's hold on its lane, its server and its link: taken when the attempt starts, it
 * counts the attempt in all three at once, and given back once when the attempt ends.
 */
export interface Lease {
  readonly lane: Lane;
  readonly member: Member;
  readonly link: Link | null;
  /** Gives the lease back; only the first call counts. */
  release(): void;
}

/**
 * A Send Test Email waiting for its turn: work the planner lets go before the lane's mail, on a
 * connection of its own. Its message was recorded as sending when it was queued.
 */
export interface TestTurn {
  member: Member;
  message: QueuedMessage;
  /** The conversation with the upstream, recorded as the attempt runs. */
  transcript: string[];
  /** Told once why and until when the test waits. */
  onWait: (reason: string, until: number | null) => void;
  waitReported: boolean;
  /** Called with what the attempt came to. */
  done: (summary: AttemptSummary) => void;
  /** Called when the test cannot go (the relay stops, the server was changed or removed). */
  cancel: (error: Error) => void;
}

export interface Lane {
  key: string;
  members: Map<number, Member>;
  /** The attempts in flight. */
  leases: Set<Lease>;
  /** Max Connections lowered after a 432 4.3.2, until `throttledUntil`. */
  throttleLimit: number | null;
  throttledUntil: number;
  /** When recent attempts ended (Messages per Minute counts from there: Microsoft counts arrivals). */
  ends: number[];
  /** Microsoft's quota reply pauses the mailbox until then. */
  pausedUntil: number;
  /** Waiting for the rolling daily recipient budget until then (0: not waiting). */
  quotaUntil: number;
  /** The one link that may hold sockets at the mailbox. */
  active: Link | null;
  /** The test email that owns the lane while it runs (it uses a connection of its own). */
  exclusive: Lease | null;
  tests: TestTurn[];
}

/** What the panel and tests see of a server's lane. */
export interface LaneState {
  serverId: number;
  /** The mailbox (or other upstream identity) the lane counts for. */
  key: string;
  inFlight: number;
  limit: number;
  held: boolean;
  pausedUntil: number;
  quotaUntil: number;
}

/** The identity Microsoft counts limits for: the mailbox, else the upstream account, else the server itself. */
export function laneKey(server: EmailServer): string {
  if (server.method === 'office365') {
    const mailbox = server.mailbox ?? server.authorizedAccount;
    if (mailbox) return `mailbox:${mailbox.toLowerCase()}`;
  }
  if (server.method === 'password' && server.username) return `account:${server.username.toLowerCase()}@${server.host.toLowerCase()}`;
  return `server:${server.id}`;
}

/** A lane with no members yet, carrying on from what the store remembers. */
export function newLane(key: string, stored: LaneSnapshot | null): Lane {
  return {
    key,
    members: new Map(),
    leases: new Set(),
    throttleLimit: stored?.throttleLimit ?? null,
    throttledUntil: stored?.throttledUntil ?? 0,
    ends: [],
    pausedUntil: stored?.pausedUntil ?? 0,
    quotaUntil: 0,
    active: null,
    exclusive: null,
    tests: [],
  };
}

/** A server joining `lane`. */
export function newMember(server: EmailServer, lane: Lane): Member {
  return {
    server,
    lane,
    link: null,
    connError: null,
    generation: 0,
    leases: new Set(),
    held: false,
    nextProbeAt: 0,
    reportedRefresh: null,
    keepAliveRunning: false,
  };
}

/** The lane's limits: the strictest of its members' settings (they all send as one mailbox). */
export function laneLimits(lane: Lane): { maxConnections: number; messagesPerMinute: number; recipientsPerDay: number } {
  const servers = [...lane.members.values()].map((m) => m.server);
  const least = (pick: (s: EmailServer) => number): number => (servers.length ? Math.min(...servers.map(pick)) : 1);
  return {
    maxConnections: least((s) => s.maxConnections),
    messagesPerMinute: least((s) => s.messagesPerMinute),
    recipientsPerDay: least((s) => s.recipientsPerDay),
  };
}

/** The lane as the planner sees it (planner.ts). */
export function laneView(lane: Lane): LaneView {
  const { maxConnections, messagesPerMinute } = laneLimits(lane);
  return {
    inFlight: lane.leases.size,
    exclusive: lane.exclusive !== null,
    testWaiting: lane.tests.length > 0,
    maxConnections,
    messagesPerMinute,
    throttleLimit: lane.throttleLimit,
    throttledUntil: lane.throttledUntil,
    ends: lane.ends,
    pausedUntil: lane.pausedUntil,
  };
}

/** Concurrent attempts the lane allows at `t` (Max Connections, lowered while throttled). */
export function connectionLimit(lane: Lane, t: number): number {
  return limitAt(
    { maxConnections: laneLimits(lane).maxConnections, throttleLimit: lane.throttleLimit, throttledUntil: lane.throttledUntil },
    t,
  );
}

/** Forgets what no longer counts at `t`: attempt ends older than a minute, a throttle that ran out. */
export function tidyLane(lane: Lane, t: number): void {
  while (lane.ends.length > 0 && (lane.ends[0] as number) <= t - MINUTE) lane.ends.shift();
  if (lane.throttleLimit !== null && t >= lane.throttledUntil) lane.throttleLimit = null;
}

/** Takes the lease of an attempt of `member` on `link`; an `exclusive` one (a test email) owns the lane. */
export function takeLease(member: Member, link: Link | null, exclusive: boolean): Lease {
  const lane = member.lane;
  const lease: Lease = {
    lane,
    member,
    link,
    // Deleting from a set twice changes nothing: a second release counts for nothing.
    release() {
      lane.leases.delete(lease);
      member.leases.delete(lease);
      link?.leases.delete(lease);
      if (lane.exclusive === lease) lane.exclusive = null;
    },
  };
  lane.leases.add(lease);
  member.leases.add(lease);
  link?.leases.add(lease);
  if (exclusive) lane.exclusive = lease;
  return lease;
}

/** The durable part of a lane, for the store. */
export function laneSnapshot(lane: Lane): LaneSnapshot {
  return { pausedUntil: lane.pausedUntil, throttleLimit: lane.throttleLimit, throttledUntil: lane.throttledUntil };
}
