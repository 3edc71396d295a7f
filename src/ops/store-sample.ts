/**
 * What /metrics reads from the store when it is scraped: waiting messages per
 * server and status (and their bytes as received), the oldest waiting
 * message, the database's size, each server's status and when its client
 * secret or client certificate expires. Every query is served by an index (see store/dashboard.ts),
 * so a scrape stays cheap while thousands of messages wait.
 */
import { credentialExpiry } from '../auth/secret-expiry.js';
import type { StoreSlice } from '../store/index.js';
import type { StoreSample } from '../metrics.js';

/** The label of waiting mail whose email server was removed. */
const NO_SERVER = '(none)';

export type StoreSampler = () => Promise<StoreSample>;

export interface StoreSamplerOptions {
  store: StoreSlice<{ servers: 'list'; dashboard: 'waitingGroups' | 'oldestWaiting'; database: 'sizeBytes' }>;
  now?: () => number;
}

/** Creates the sampler the metrics endpoint calls on each scrape. */
export function createStoreSampler({ store, now = Date.now }: StoreSamplerOptions): StoreSampler {
  return async () => {
    const servers = await store.servers.list();
    const names = new Map(servers.map((s) => [s.id, s.name]));
    const oldest = (await store.dashboard.oldestWaiting())?.receivedAt ?? null;
    const secretExpiries: StoreSample['secretExpiries'] = [];
    const certificateExpiries: StoreSample['certificateExpiries'] = [];
    for (const s of servers) {
      const expiry = credentialExpiry(s);
      if (expiry)
        (expiry.credential === 'secret' ? secretExpiries : certificateExpiries).push({
          server: s.name,
          expiresAt: expiry.expiresAt / 1000,
        });
    }
    // Counted from the records' sizes, not by reading every message's chunks: a scrape during an
    // outage with 100,000 held messages stays a query over the queue's index.
    const waiting = await store.dashboard.waitingGroups();
    return {
      queue: waiting.map((r) => ({
        server: (r.serverId === null ? undefined : names.get(r.serverId)) ?? NO_SERVER,
        status: r.status,
        messages: r.messages,
      })),
      oldestWaitingSeconds: oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000),
      spoolBytes: waiting.reduce((sum, r) => sum + r.bytes, 0),
      databaseBytes: await store.database.sizeBytes(),
      servers: servers.map((s) => ({ server: s.name, status: s.status })),
      secretExpiries,
      certificateExpiries,
    };
  };
}
