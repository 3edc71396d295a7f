/**
 * The leases of this instance's claims: while it delivers, every third of
 * CLAIM_LEASE_MS it renews the leases of the messages it has attempts running
 * for (one whose outcome could not be recorded is left to run out), and queues
 * again the messages whose lease ran out (an instance sharing the store that
 * died mid-delivery: only its deliveries in flight may go twice). A failure
 * (the database unreachable) is logged and tried again at the next tick; a
 * lease outlives a few missed renewals.
 */
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import { CLAIM_LEASE_MS } from '../store/queue-outcome.js';

export interface ClaimLeaseOptions {
  store: StoreSlice<{ queue: 'renewLeases' | 'requeueExpired' }>;
  log: Logger;
  now: () => number;
  /** Told when messages were queued again, so the scheduler looks at once. */
  requeued: () => void;
  /** The messages this instance has attempts running for. */
  delivering: () => readonly string[];
  intervalMs?: number;
}

export interface ClaimLeases {
  start(): void;
  /** Ends the ticks and waits for one in progress. */
  stop(): Promise<void>;
  /** One tick: renew, then queue again what expired. */
  tick(): Promise<void>;
}

export function createClaimLeases({
  store,
  log,
  now,
  requeued,
  delivering,
  intervalMs = CLAIM_LEASE_MS / 3,
}: ClaimLeaseOptions): ClaimLeases {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = async (): Promise<void> => {
    try {
      await store.queue.renewLeases(delivering(), now());
      const expired = await store.queue.requeueExpired(now());
      if (expired > 0) {
        log.warn('queued again the messages whose delivering instance stopped renewing its claims', { messages: expired });
        requeued();
      }
    } catch (err) {
      log.warn('could not renew the claims of the messages being delivered', { error: (err as Error).message });
    }
  };
  return {
    start() {
      timer = setInterval(() => {
        running = running.then(tick);
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
    tick,
  };
}
