/**
 * Reads what the alert conditions look at from the store, at one moment:
 * each email server with its status and held mail, the oldest waiting
 * message, the last hour's failures and the AUTH lockouts in force.
 */
import type { StoreSlice } from '../store/index.js';
import type { AlertSnapshot } from './conditions.js';

const HOUR_MS = 60 * 60_000;

/** What a snapshot reads. */
export type SnapshotStore = StoreSlice<{
  servers: 'list';
  alerts: 'heldByServer' | 'oldestWaiting' | 'failuresSince';
  lockouts: 'list';
}>;

/** The snapshot `evaluate` runs over. */
export async function readSnapshot(store: SnapshotStore, now: number): Promise<AlertSnapshot> {
  const servers = await store.servers.list();
  const nameOf = (id: number | null): string | null => servers.find((s) => s.id === id)?.name ?? null;
  const held = await store.alerts.heldByServer();
  const oldest = await store.alerts.oldestWaiting();
  const failures = await store.alerts.failuresSince(now - HOUR_MS);
  const lockouts = await store.lockouts.list(now);
  return {
    servers: servers.map((s) => ({
      id: s.id,
      name: s.name,
      method: s.method,
      status: s.status,
      statusCode: s.statusCode,
      statusMessage: s.statusMessage,
      statusHint: s.statusHint,
      clientSecretExpires: s.clientSecretExpires ?? null,
      clientCertificateExpiresAt: s.clientCertificateExpiresAt,
      held: held.get(s.id) ?? 0,
    })),
    oldestWaiting: oldest ? { ...oldest, serverName: nameOf(oldest.serverId) } : null,
    failuresLastHour: { count: failures.count, lastReply: failures.lastReply, serverName: nameOf(failures.serverId) },
    lockouts,
  };
}
