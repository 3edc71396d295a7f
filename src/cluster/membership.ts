/**
 * This instance's membership of the cluster: it joins when it starts, beats
 * every few seconds while it runs and leaves when it stops, so `cluster
 * status` shows who runs and who died (a heartbeat older than MEMBER_STALE_MS).
 *
 * Until Microsoft's per-mailbox limits are kept across instances, only one
 * instance may run on a database: a second one that finds a live member
 * refuses to start, instead of doubling the sessions and messages per minute
 * Exchange allows a mailbox. An instance that died stops counting once its
 * heartbeat is stale; the same instance id may restart at once.
 */
import type { Member } from '../store/instances.js';
import type { StoreSlice } from '../store/index.js';

/** How often a running instance records its heartbeat. */
export const HEARTBEAT_MS = 5_000;
/** A member without a heartbeat for this long is gone (died, or its machine did). */
export const MEMBER_STALE_MS = 30_000;

/** Another instance runs on the same database. */
export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

export interface MembershipDeps {
  store: StoreSlice<{ instances: 'join' | 'heartbeat' | 'leave' }>;
  instanceId: string;
  version: string;
  /** Where a failed heartbeat is reported (the database unreachable). */
  onError: (err: unknown) => void;
  now?: () => number;
}

export interface Membership {
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

/** Joins the cluster as `instanceId`; throws ClusterError while another live instance runs on the store. */
export async function joinCluster({ store, instanceId, version, onError, now = Date.now }: MembershipDeps): Promise<Membership> {
  const at = now();
  const others = await store.instances.join(instanceId, version, at, at - MEMBER_STALE_MS);
  const [other] = others;
  if (other !== undefined) {
    await store.instances.leave(instanceId, at);
    throw new ClusterError(
      `relay365 instance ${other.id} already runs on this database (last heartbeat ${ago(other, at)}); this version runs one instance per database, since two would each open Microsoft's connections and messages per minute for the same mailbox: stop ${other.id} first (an instance that died counts as gone ${MEMBER_STALE_MS / 1000} s after its last heartbeat)`,
    );
  }
  const timer = setInterval(() => {
    store.instances.heartbeat(instanceId, now()).catch(onError);
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    leave: async () => {
      clearInterval(timer);
      await store.instances.leave(instanceId, now()).catch(onError);
    },
  };
}
