/**
 * Lanes: the scheduler's state per mailbox, and the arithmetic of its limits.
 * Exchange Online counts connections, messages per minute and recipients per
 * day per mailbox, so every email server that sends as one mailbox (and Send
 * Test Email) shares one lane. Each server is a member of its lane with its
 * own settings and connection; only one connection of a lane may hold
 * sockets at a time, so idle pooled sockets of one server never push another
 * over Microsoft's connection limit.
 */
import type { TokenError } from '../auth/token-error.js';
import type { LaneSnapshot } from '../store/lane-state.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';

const MINUTE = 60_000;

/** One server's connection (token provider and pool) and the attempts running on it. */
export interface Link {
  conn: Connection;
  inFlight: number;
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
  inFlight: number;
  held: boolean;
  nextProbeAt: number;
  reportedRefresh: number | null;
  keepAliveRunning: boolean;
}

/** A Send Test Email waiting for its turn in the lane. */
export interface TestTurn {
  member: Member;
  messageId: string;
  /** Called with the reservation's id once the lane lets the test go. */
  go: (reservationId: number) => void;
  /** Called when the relay stops before the test could go. */
  cancel: (error: Error) => void;
  /** Told once why and until when the test waits. */
  onWait: (reason: string, until: number | null) => void;
  waitReported: boolean;
}

export interface Lane {
  key: string;
  members: Map<number, Member>;
  inFlight: number;
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
  /** A test email owns the lane while it runs (it uses a connection of its own). */
  exclusive: boolean;
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
    inFlight: 0,
    throttleLimit: stored?.throttleLimit ?? null,
    throttledUntil: stored?.throttledUntil ?? 0,
    ends: [],
    pausedUntil: stored?.pausedUntil ?? 0,
    quotaUntil: 0,
    active: null,
    exclusive: false,
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
    inFlight: 0,
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

/** Concurrent attempts the lane allows now (Max Connections, lowered while throttled). */
export function connectionLimit(lane: Lane, t: number): number {
  if (lane.throttleLimit !== null && t >= lane.throttledUntil) lane.throttleLimit = null;
  return Math.min(laneLimits(lane).maxConnections, lane.throttleLimit ?? Infinity);
}

/**
 * How many attempts a lane may start at `t` under its connection and rate
 * limits, and when to look again if none (Infinity: when an attempt ends).
 * An attempt in flight counts against the minute until a minute after it
 * ended, so no 60 seconds at the receiving side hold more than the limit.
 */
export function laneSlots(lane: Lane, t: number): { slots: number; wakeAt: number } {
  const limit = connectionLimit(lane, t);
  while (lane.ends.length > 0 && (lane.ends[0] as number) <= t - MINUTE) lane.ends.shift();
  const byRate = laneLimits(lane).messagesPerMinute - lane.ends.length - lane.inFlight;
  const slots = Math.min(limit - lane.inFlight, byRate);
  if (slots > 0) return { slots, wakeAt: Infinity };
  return { slots: 0, wakeAt: byRate <= 0 && lane.ends.length > 0 ? (lane.ends[0] as number) + MINUTE : Infinity };
}

/** The durable part of a lane, for the store. */
export function laneSnapshot(lane: Lane): LaneSnapshot {
  return { pausedUntil: lane.pausedUntil, throttleLimit: lane.throttleLimit, throttledUntil: lane.throttledUntil };
}
