/**
 * Accept first. One event loop answers the SMTP clients and runs the
 * deliveries; a queue that drains at full speed keeps that loop busy, and
 * every client waiting for its `250` waits behind the deliveries' TLS, SMTP
 * and bookkeeping. So while mail is arriving and the loop is busy, delivery
 * attempts start at most one per `PACE_MS`; with nothing arriving, or with
 * time to spare, the queue drains at full speed. The pace bounds the relay's
 * own work, well above Microsoft's per-mailbox limits (Messages per Minute),
 * so it never holds back mail that Exchange would take.
 */
import { performance } from 'node:perf_hooks';

/** The gap between attempt starts while mail is arriving on a busy loop (at most 100 attempts a second). */
export const PACE_MS = 10;
/** The event loop counts as busy above this share of its time spent running callbacks. */
const BUSY_SHARE = 0.5;
/** How much time the busy share is measured over. */
const WINDOW_MS = 100;
/** Mail counts as arriving until this long after the last message was recorded. */
const ARRIVING_MS = 1_000;

export interface DeliveryPace {
  /** New mail was recorded. */
  arrived(): void;
  /** Milliseconds until the next attempt may start (0: now). */
  delay(): number;
  /** An attempt started now. */
  started(): void;
}

/** Whether the event loop spent more than `BUSY_SHARE` of the last window running callbacks. */
export function loopBusy(): () => boolean {
  let sample = performance.eventLoopUtilization();
  let sampledAt = performance.now();
  let busy = false;
  return () => {
    const t = performance.now();
    if (t - sampledAt >= WINDOW_MS) {
      const next = performance.eventLoopUtilization();
      busy = performance.eventLoopUtilization(next, sample).utilization > BUSY_SHARE;
      sample = next;
      sampledAt = t;
    }
    return busy;
  };
}

export interface PaceOptions {
  /** Whether the event loop is busy now. */
  busy?: () => boolean;
  /**
   * Milliseconds on the machine's monotonic clock. Not the scheduler's clock: the pace shares out
   * this machine's time, whatever time the queue runs on.
   */
  clock?: () => number;
}

/** Creates the pace. */
export function createDeliveryPace({ busy = loopBusy(), clock = () => performance.now() }: PaceOptions = {}): DeliveryPace {
  let arrivedAt = -Infinity;
  let startedAt = -Infinity;
  return {
    arrived() {
      arrivedAt = clock();
    },
    delay() {
      const t = clock();
      if (t - arrivedAt > ARRIVING_MS || !busy()) return 0;
      return Math.max(0, startedAt + PACE_MS - t);
    },
    started() {
      startedAt = clock();
    },
  };
}
