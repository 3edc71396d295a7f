/**
 * Lanes: the scheduler's state per mailbox, and the leases of the attempts on it.
 * Exchange Online counts connections, messages per minute and recipients per
 * day per mailbox, so every email server that sends as one mailbox (and Send
 * Test Email) shares one lane. Each server is a member of its lane with its
 * own settings and connection; only one connection of a lane may hold
 * sockets at a time, so idle pooled sockets of one server never push another
 * over Microsoft's connection limit. Over Microsoft Graph, the servers of one
 * app also share its requests at once across their mailboxes (an app budget),
 * and each lane counts its Graph requests and uploaded bytes.
 */
import type { TokenError } from '../auth/token-error.js';
import type { LaneSnapshot } from '../store/lane-state.js';
import type { QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import type { AttemptSummary } from './outcomes.js';
import { connectionLimit as limitAt, expectedGraphCost, GRAPH_LIMITS, type GraphCost, type GraphUse, type LaneView } from './planner.js';

const MINUTE = 60_000;
/** Ended Graph attempts count this long (the longer of Graph's two windows). */
const GRAPH_WINDOW_MS = Math.max(GRAPH_LIMITS.requestWindowMs, GRAPH_LIMITS.uploadWindowMs);

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
  /** The budget of its app when the server sends via Graph; null otherwise. */
  app: AppBudget | null;
}

/**
 * The Graph servers of one app (tenant and client ID) and their attempts in flight. Microsoft
 * allows an app 4 concurrent requests (its pages disagree whether per mailbox or across the app's
 * mailboxes: relay365 keeps the stricter reading). A Graph attempt makes one request at a time, so
 * its lease counts as one request.
 */
export interface AppBudget {
  key: string;
  members: Set<Member>;
  leases: Set<Lease>;
}

/**
 * One attempt's hold on its lane, its server and its link: taken when the attempt starts, it
 * counts the attempt in all three at once, and given back once when the attempt ends.
 */
export interface Lease {
  readonly lane: Lane;
  readonly member: Member;
  readonly link: Link | null;
  /** The app budget a Graph attempt counts in; null for other attempts. */
  readonly app: AppBudget | null;
  /** What a Graph attempt is expected to cost until it reports; null for other attempts. */
  readonly cost: GraphCost | null;
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
  /** Microsoft's quota reply (or Graph's Retry-After) pauses the mailbox until then. */
  pausedUntil: number;
  /** What ended Graph attempts cost, oldest first, for Graph's request and upload windows. */
  graphUsed: GraphUse[];
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
    graphUsed: [],
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
    app: null,
  };
}

/** The app a server's Graph requests count for (tenant and client ID), or null when it does not send via Graph. */
export function appKey(server: EmailServer): string | null {
  if (server.method !== 'office365' || server.sendVia !== 'graph' || !server.tenantId || !server.clientId) return null;
  return `app:${server.tenantId.toLowerCase()}/${server.clientId.toLowerCase()}`;
}

/** Graph requests the app allows at once: the strictest of its servers' Graph Requests at Once. */
export function appLimit(app: AppBudget): number {
  return Math.min(...[...app.members].map((m) => m.server.graphRequestsAtOnce));
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
  // A lane whose servers use different apps (or SMTP besides Graph) waits for the fullest app.
  const apps = new Set([...lane.members.values()].flatMap((m) => (m.app ? [m.app] : [])));
  const graphInFlight = { requests: 0, uploadedBytes: 0 };
  for (const { cost } of lane.leases) {
    graphInFlight.requests += cost?.requests ?? 0;
    graphInFlight.uploadedBytes += cost?.uploadedBytes ?? 0;
  }
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
    appFree: Math.min(Infinity, ...[...apps].map((app) => appLimit(app) - app.leases.size)),
    graphUsed: lane.graphUsed,
    graphInFlight,
  };
}

/** Concurrent attempts the lane allows at `t` (Max Connections, lowered while throttled). */
export function connectionLimit(lane: Lane, t: number): number {
  return limitAt(
    { maxConnections: laneLimits(lane).maxConnections, throttleLimit: lane.throttleLimit, throttledUntil: lane.throttledUntil },
    t,
  );
}

/** Forgets what no longer counts at `t`: attempt ends older than a minute, Graph use past its windows, a throttle that ran out. */
export function tidyLane(lane: Lane, t: number): void {
  while (lane.ends.length > 0 && (lane.ends[0] as number) <= t - MINUTE) lane.ends.shift();
  while (lane.graphUsed.length > 0 && (lane.graphUsed[0] as GraphUse).at <= t - GRAPH_WINDOW_MS) lane.graphUsed.shift();
  if (lane.throttleLimit !== null && t >= lane.throttledUntil) lane.throttleLimit = null;
}

/**
 * Takes the lease of an attempt of `member` on `link` for a message of `size` bytes; an `exclusive`
 * one (a test email) owns the lane. A Graph attempt also counts in its app's budget, and its
 * expected cost in the lane's Graph windows until it ends.
 */
export function takeLease(member: Member, link: Link | null, exclusive: boolean, size = 0): Lease {
  const lane = member.lane;
  // Without a link the attempt makes no request: it only reports why the server cannot be connected.
  const app = link ? member.app : null;
  const lease: Lease = {
    lane,
    member,
    link,
    app,
    cost: app ? expectedGraphCost(size) : null,
    // Deleting from a set twice changes nothing: a second release counts for nothing.
    release() {
      lane.leases.delete(lease);
      member.leases.delete(lease);
      link?.leases.delete(lease);
      app?.leases.delete(lease);
      if (lane.exclusive === lease) lane.exclusive = null;
    },
  };
  lane.leases.add(lease);
  member.leases.add(lease);
  link?.leases.add(lease);
  app?.leases.add(lease);
  if (exclusive) lane.exclusive = lease;
  return lease;
}

/**
 * Counts an ended Graph attempt in its lane's windows at `at`: what the transport reported it
 * used, else what it was expected to cost. Other attempts count nothing here.
 */
export function countGraphUse(lease: Lease, at: number, used: GraphCost | undefined): void {
  if (!lease.cost) return;
  const { requests, uploadedBytes } = used ?? lease.cost;
  lease.lane.graphUsed.push({ at, requests, uploadedBytes });
}

/** The durable part of a lane, for the store. */
export function laneSnapshot(lane: Lane): LaneSnapshot {
  return { pausedUntil: lane.pausedUntil, throttleLimit: lane.throttleLimit, throttledUntil: lane.throttledUntil };
}
