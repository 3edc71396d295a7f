/**
 * Accept first. One event loop answers the SMTP clients and runs the
 * deliveries; a queue that drains at full speed keeps that loop busy, and
 * every client waiting for its `250` waits behind the deliveries' TLS, SMTP
 * and bookkeeping. So while mail is arriving, delivery attempts start at most
 * one per `PACE_MS`; with nothing arriving, the queue drains at full speed.
 * The pace bounds the relay's own work, far above what Microsoft lets a
 * mailbox send (Messages per Minute), so it never holds back mail that
 * Exchange would take.
 */
import { performance } from 'node:perf_hooks';

/** The gap between attempt starts while mail is arriving (at most 100 attempts a second). */
export const PACE_MS = 10;
/** Mail counts as arriving until this long after the last message was recorded. */
export const ARRIVING_MS = 1_000;

export interface DeliveryPace {
  /** New mail was recorded. */
  arrived(): void;
  /** Milliseconds until the next attempt may start (0: now). */
  delay(): number;
  /** An attempt started now. */
  started(): void;
}

/**
 * Creates the pace on `clock`, milliseconds on the machine's monotonic clock. Not the scheduler's
 * clock: the pace shares out this machine's time, whatever time the queue runs on.
 */
export function createDeliveryPace(clock: () => number = () => performance.now()): DeliveryPace {
  let arrivedAt = -Infinity;
  let startedAt = -Infinity;
  return {
    arrived() {
      arrivedAt = clock();
    },
    delay() {
      const t = clock();
      if (t - arrivedAt > ARRIVING_MS) return 0;
      return Math.max(0, startedAt + PACE_MS - t);
    },
    started() {
      startedAt = clock();
    },
  };
}
