/**
 * This instance's membership of the cluster: it joins when it starts, beats
 * every few seconds while it runs and leaves when it stops, so `cluster
 * status` shows who runs and who died (a heartbeat older than MEMBER_STALE_MS).
 * Any number of instances may run on one database; each needs its own id,
 * since claims and leases are made in its name. An instance that finds its
 * own id beating (it crashed a moment ago, or another process has its id)
 * waits one heartbeat to tell the two apart, and refuses to run twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MEMBER_STALE_MS, type Member } from '../store/instances.js';
import type { StoreSlice } from '../store/index.js';

/** How often a running instance records its heartbeat. */
export const HEARTBEAT_MS = 5_000;
/** A heartbeat may come this much later than HEARTBEAT_MS (a busy event loop, a slow database). */
const BEAT_MARGIN_MS = 1_000;
export { MEMBER_STALE_MS };

/** Another process runs with this instance's id on the same database. */
export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

export interface MembershipDeps {
  store: StoreSlice<{ instances: 'join' | 'heartbeat' | 'leave' | 'list' }>;
  instanceId: string;
  version: string;
  /** Where a failed heartbeat is reported (the database unreachable). */
  onError: (err: unknown) => void;
  now?: () => number;
  /** Waits that long (tests pass their own). */
  pause?: (ms: number) => Promise<unknown>;
}

export interface Membership {
  /** The other instances running when this one joined. */
  others: string[];
  /** A clean stop: the heartbeat ends and the member leaves (a failure goes to `onError`: the heartbeat then goes stale). */
  leave(): Promise<void>;
}

/** What a member's row says about it at `now`: running, stopped cleanly, or gone (no heartbeat for MEMBER_STALE_MS). */
export type MemberState = 'running' | 'stopped' | 'gone';

export function memberState(member: Member, now: number): MemberState {
  if (member.stoppedAt !== null) return 'stopped';
  return now - member.heartbeatAt > MEMBER_STALE_MS ? 'gone' : 'running';
}

const ago = (member: Member, now: number): string => `${Math.round((now - member.heartbeatAt) / 1000)} s ago`;

/** Joins the cluster as `instanceId`; throws ClusterError while another process beats with the same id. */
export async function joinCluster({
  store,
  instanceId,
  version,
  onError,
  now = Date.now,
  pause = sleep,
}: MembershipDeps): Promise<Membership> {
  const before = (await store.instances.list()).find((m) => m.id === instanceId);
  if (before && memberState(before, now()) === 'running') {
    // This instance a moment before a crash stopped beating; another process with its id beats on.
    await pause(Math.max(0, before.heartbeatAt + HEARTBEAT_MS + BEAT_MARGIN_MS - now()));
    const after = (await store.instances.list()).find((m) => m.id === instanceId);
    if (after && after.stoppedAt === null && after.heartbeatAt !== before.heartbeatAt) {
      throw new ClusterError(
        `another relay365 process runs as instance ${instanceId} on this database (last heartbeat ${ago(after, now())}): give each instance its own RELAY365_INSTANCE_ID`,
      );
    }
  }
  const at = now();
  const others = await store.instances.join(instanceId, version, at, at - MEMBER_STALE_MS);
  const timer = setInterval(() => {
    store.instances.heartbeat(instanceId, now()).catch(onError);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    others: others.map((m) => m.id),
    leave: async () => {
      clearInterval(timer);
      await store.instances.leave(instanceId, now()).catch(onError);
    },
  };
}
