/**
 * What /metrics reads from the store and the data folder when it is scraped:
 * waiting messages per server and status (and their bytes in the spool), the
 * oldest waiting message, the database's size, each server's status and when
 * its client secret expires. Every query is served by an index (see store/migrations.ts),
 * so a scrape stays cheap while thousands of messages wait.
 */
import { statSync } from 'node:fs';
import { secretExpiresAt } from '../auth/secret-expiry.js';
import type { Store } from '../store/index.js';
import type { StoreSample } from './metrics.js';

/** Statuses of mail that has not reached its end yet. */
const WAITING = ['queued', 'deferred', 'sending', 'held'] as const;
/** The label of waiting mail whose email server was removed. */
const NO_SERVER = '(none)';

export type StoreSampler = () => StoreSample;

export interface StoreSamplerOptions {
  store: Store;
  now?: () => number;
}

const fileSize = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Creates the sampler the metrics endpoint calls on each scrape. */
export function createStoreSampler({ store, now = Date.now }: StoreSamplerOptions): StoreSampler {
  const { db } = store;
  const waitingList = WAITING.map((s) => `'${s}'`).join(', ');
  // Counted from the records, not by stat()ing every spool file: a scrape during an outage with
  // 100,000 held messages must not queue that many calls on the thread pool the spool's fsyncs use.
  const countWaiting = db.prepare<[], { serverId: number | null; status: string; n: number; bytes: number }>(
    `SELECT server_id AS serverId, status, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes
     FROM messages WHERE status IN (${waitingList}) GROUP BY server_id, status`,
  );
  // One MIN per status, so that each is a single step down the (status, received_at) index.
  const oldestOf = db.prepare<[string], { at: number | null }>('SELECT MIN(received_at) AS at FROM messages WHERE status = ?');

  return () => {
    const servers = store.servers.list();
    const names = new Map(servers.map((s) => [s.id, s.name]));
    const oldest = Math.min(...WAITING.map((s) => oldestOf.get(s)?.at ?? Infinity));
    const secretExpiries: StoreSample['secretExpiries'] = [];
    for (const s of servers) {
      const expiresAt = secretExpiresAt(s);
      if (expiresAt !== null) secretExpiries.push({ server: s.name, expiresAt: expiresAt / 1000 });
    }
    const waiting = countWaiting.all();
    return {
      queue: waiting.map((r) => ({
        server: (r.serverId === null ? undefined : names.get(r.serverId)) ?? NO_SERVER,
        status: r.status,
        messages: r.n,
      })),
      oldestWaitingSeconds: oldest === Infinity ? 0 : Math.max(0, (now() - oldest) / 1000),
      spoolBytes: waiting.reduce((sum, r) => sum + r.bytes, 0),
      databaseBytes: fileSize(db.name) + fileSize(`${db.name}-wal`),
      servers: servers.map((s) => ({ server: s.name, status: s.status })),
      secretExpiries,
    };
  };
}
