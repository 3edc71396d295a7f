/**
 * `relay365 cluster status [--json]`: the instances that run on this store
 * (one with SQLite; every instance sharing RELAY365_DATABASE_URL with
 * PostgreSQL), each with its version, start and last heartbeat, and whether it
 * runs, stopped cleanly or is gone (no heartbeat for MEMBER_STALE_MS), how
 * many messages it is delivering, the mailboxes it delivers for and the jobs
 * it runs for the cluster.
 */
import { holdingsOf } from '../cluster/holdings.js';
import { memberState } from '../cluster/membership.js';
import type { StoreSlice } from '../store/index.js';
import { formatTime } from '../time-format.js';
import { noPositionals, type Print } from './flags.js';
import { JSON_FLAG, subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';

export interface ClusterContext {
  store: StoreSlice<{ instances: 'list'; leases: 'list' }>;
  print: Print;
  now?: () => number;
}

async function status(
  { store, print, now = Date.now }: ClusterContext,
  { values, positionals }: ParsedFlags<typeof JSON_FLAG>,
): Promise<void> {
  noPositionals(positionals);
  const at = now();
  const members = await store.instances.list();
  const holdings = holdingsOf(await store.leases.list(), at);
  if (values.json) {
    const rows = members.map((m) => ({
      id: m.id,
      state: memberState(m, at),
      version: m.version,
      startedAt: new Date(m.startedAt).toISOString(),
      heartbeatAt: new Date(m.heartbeatAt).toISOString(),
      stoppedAt: m.stoppedAt === null ? null : new Date(m.stoppedAt).toISOString(),
      delivering: m.delivering,
      ...holdings(m.id),
    }));
    print(JSON.stringify(rows, null, 2));
    return;
  }
  if (members.length === 0) print('no instance has run on this store yet');
  for (const m of members) {
    const state = memberState(m, at);
    const seen =
      state === 'stopped'
        ? `stopped ${formatTime(m.stoppedAt ?? m.heartbeatAt)}`
        : `last heartbeat ${Math.round((at - m.heartbeatAt) / 1000)} s ago`;
    const { mailboxes, jobs } = holdings(m.id);
    const held = [
      mailboxes.length > 0 ? `; delivers for ${mailboxes.join(', ')}` : '',
      jobs.length > 0 ? `; runs ${jobs.join(', ')}` : '',
    ].join('');
    print(`${m.id}: ${state}, relay365 ${m.version}, started ${formatTime(m.startedAt)}, ${seen}, delivering ${m.delivering}${held}`);
  }
}

/** `cluster status`. */
export const CLUSTER_COMMAND = subcommandGroup<ClusterContext>('cluster', { status: subcommand(JSON_FLAG, status) });
