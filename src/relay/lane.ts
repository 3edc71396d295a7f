/**
 * A lane: one email server's delivery state in the scheduler, and the
 * arithmetic of its limits (Max Connections, lowered after a 432; Messages
 * per Minute as a sliding window).
 */
import type { TokenError } from '../auth/token-error.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';

const MINUTE = 60_000;

export interface Lane {
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

export interface LaneState {
  serverId: number;
  inFlight: number;
  limit: number;
  held: boolean;
  pausedUntil: number;
}

/** A fresh lane for a server; `conn` is null when the server cannot be connected (`connError` says why). */
export function newLane(server: EmailServer, conn: Connection | null, connError: TokenError | null): Lane {
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
}

/**
 * How many attempts a lane may start at `t` under its connection and rate
 * limits, and when to look again if none (Infinity: when an attempt ends).
 */
export function laneSlots(lane: Lane, t: number): { slots: number; wakeAt: number } {
  if (lane.limit < lane.server.maxConnections && t >= lane.throttledUntil) {
    lane.limit = lane.server.maxConnections;
    lane.conn?.upstream.setConnectionLimit(lane.limit);
  }
  while (lane.starts.length > 0 && (lane.starts[0] as number) <= t - MINUTE) lane.starts.shift();
  const byRate = lane.server.messagesPerMinute - lane.starts.length;
  const slots = Math.min(lane.limit - lane.inFlight, byRate, lane.held ? 1 : Infinity);
  if (slots > 0) return { slots, wakeAt: Infinity };
  return { slots: 0, wakeAt: byRate <= 0 ? (lane.starts[0] as number) + MINUTE : Infinity };
}
