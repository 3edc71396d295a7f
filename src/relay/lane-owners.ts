/**
 * Which instance of a cluster delivers each mailbox's mail. Exchange counts
 * a mailbox's connections and messages per minute wherever they come from,
 * so one instance at a time delivers for a mailbox: it holds the lane's
 * lease (src/store/leases.ts) while it holds sockets there, renewing it
 * every few seconds, and delivers every due message of that mailbox,
 * whichever instance accepted it. Microsoft Graph also limits an app's
 * requests at once across its mailboxes, so a lane whose servers send via
 * Graph also needs its apps' leases: every mailbox of one app goes out
 * through the instance holding the app. The others leave a lane alone until
 * the holder lets go (asked to, for a Send Test Email waiting elsewhere, once
 * it has nothing in flight; or when it stops) or dies (its leases run out).
 * The daily quota and the lane's pause and throttle are in the store, so a
 * new holder carries on from them. With SQLite, the one instance holds every
 * lane it serves.
 */
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';

/** A lane's lease lasts this long unless renewed: an instance that died gives its mailboxes up after it. */
export const LANE_LEASE_MS = 30_000;
/**
 * A released lane is free this long after: the sockets the holder just closed are gone at
 * Microsoft's end before another instance opens new ones.
 */
const RELEASE_GRACE_MS = 2_000;

/** The leases a lane needs: its own, and those of the Graph apps its servers send with (`app:…` keys). */
export interface LaneLeases {
  key: string;
  apps: readonly string[];
}

const namesOf = (lane: LaneLeases): string[] => [`lane:${lane.key}`, ...lane.apps];

export interface LaneOwnersDeps {
  store: StoreSlice<{ leases: 'acquire' | 'renew' | 'release' }>;
  log: Logger;
  now: () => number;
  /** Told the keys of lanes this instance no longer holds (another took them while renewals failed). */
  lost: (keys: string[]) => void;
  /** Told when another instance waits for a lane this one holds. */
  wanted: () => void;
  /** How often the held lanes are renewed (and another instance waiting for one is noticed). */
  renewMs?: number;
}

export interface LaneOwners {
  /**
   * Whether this instance holds the lane at `t`, taking it when it is free: null when it holds it,
   * else an instance holding one of its leases. `want`: ask that instance to let go (a Send Test
   * Email waits here).
   */
  take(lane: LaneLeases, t: number, want: boolean): Promise<string | null>;
  holds(key: string): boolean;
  /** The keys of the lanes this instance holds. */
  held(): string[];
  /** Whether another instance waits for one of the lane's leases. */
  isWanted(key: string): boolean;
  /** Lets go of the lane (its sockets are closed), and of the apps no other held lane uses. */
  release(key: string, t: number): Promise<void>;
  /** Renews the held leases every `renewMs` (at most a third of LANE_LEASE_MS). */
  start(): void;
  /** Ends the renewals and lets go of every lane. */
  stop(): Promise<void>;
}

export function createLaneOwners({ store, log, now, lost, wanted, renewMs = LANE_LEASE_MS / 3 }: LaneOwnersDeps): LaneOwners {
  /** The lanes held, by key, with the lease names each holds. */
  const lanes = new Map<string, string[]>();
  /** The leases held, by name: when each runs out as last stored, and whether another instance waits. */
  const leases = new Map<string, { until: number; wanted: boolean }>();
  let timer: NodeJS.Timeout | null = null;
  let renewing: Promise<void> = Promise.resolve();

  const used = (name: string): boolean => [...lanes.values()].some((names) => names.includes(name));

  /** Gives back the leases no held lane uses any more; others may take them from `freeAt`. */
  const giveBack = async (names: readonly string[], freeAt: number): Promise<void> => {
    for (const name of names) {
      if (used(name) || !leases.delete(name)) continue;
      await store.leases.release(name, freeAt);
    }
  };

  /** The lanes that lose a lease (another instance may hold it now), forgotten and reported. */
  const drop = (names: readonly string[]): void => {
    for (const name of names) leases.delete(name);
    const keys = [...lanes].filter(([, held]) => held.some((name) => names.includes(name))).map(([key]) => key);
    for (const key of keys) lanes.delete(key);
    if (keys.length > 0) lost(keys);
  };

  const renewOnce = async (): Promise<void> => {
    if (leases.size === 0) return;
    const t = now();
    const until = t + LANE_LEASE_MS;
    try {
      const renewed = new Map((await store.leases.renew(until)).map((r) => [r.name, r.wanted]));
      let newlyWanted = false;
      for (const [name, lease] of leases) {
        const isWanted = renewed.get(name);
        if (isWanted === undefined) continue;
        newlyWanted ||= isWanted && !lease.wanted;
        leases.set(name, { until, wanted: isWanted });
      }
      const gone = [...leases.keys()].filter((name) => !renewed.has(name));
      if (gone.length > 0) log.warn('another relay365 instance took over mailboxes this one delivered for', { leases: gone });
      drop(gone);
      if (newlyWanted) wanted();
    } catch (err) {
      // Unrenewed, a lease soon runs out and another instance may take it: this one's sockets close first.
      log.warn('could not renew the leases of the mailboxes this instance delivers for', { error: (err as Error).message });
      drop([...leases].filter(([, lease]) => lease.until - t < LANE_LEASE_MS / 3).map(([name]) => name));
    }
  };

  return {
    async take(lane, t, want) {
      if (lanes.has(lane.key)) return null;
      const names = namesOf(lane);
      const taken: string[] = [];
      for (const name of names) {
        if (leases.has(name)) continue;
        const holder = await store.leases.acquire(name, t, t + LANE_LEASE_MS, want);
        if (holder !== null) {
          // Nothing of it is held after all: what this call took is free again at once.
          await giveBack(taken, t);
          return holder;
        }
        leases.set(name, { until: t + LANE_LEASE_MS, wanted: false });
        taken.push(name);
      }
      lanes.set(lane.key, names);
      return null;
    },
    holds: (key) => lanes.has(key),
    held: () => [...lanes.keys()],
    isWanted: (key) => lanes.get(key)?.some((name) => leases.get(name)?.wanted === true) === true,
    async release(key, t) {
      const names = lanes.get(key);
      if (!names) return;
      lanes.delete(key);
      await giveBack(names, t + RELEASE_GRACE_MS);
    },
    start() {
      timer = setInterval(
        () => {
          renewing = renewing.then(renewOnce);
        },
        Math.min(renewMs, LANE_LEASE_MS / 3),
      );
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await renewing;
      const names = [...leases.keys()];
      lanes.clear();
      await giveBack(names, now() + RELEASE_GRACE_MS).catch((err: unknown) => {
        log.warn('could not give back the leases of the mailboxes this instance delivered for', { error: (err as Error).message });
      });
    },
  };
}
