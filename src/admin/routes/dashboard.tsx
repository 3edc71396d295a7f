/**
 * The dashboard at `/`: what an admin checks first, read from the store on
 * each visit (every figure is an indexed query, see store/dashboard.ts).
 */
import { Hono } from 'hono';
import { credentialExpiry, daysLeft } from '../../auth/secret-expiry.js';
import type { StoreSlice } from '../../store/index.js';
import type { EmailServer } from '../../store/servers.js';
import type { AdminEnv } from '../env.js';
import { DashboardPage, type DashboardAlert, type SecretExpiry } from '../views/dashboard.js';

export interface DashboardRouteOptions {
  store: StoreSlice<{ servers: 'list'; dashboard: 'hourly' | 'oldestWaiting' | 'queueCounts' | 'waitingByServer' }>;
  now: () => number;
  /** The alerts firing now; without it the dashboard has no alerts section. */
  alerts?: () => Promise<DashboardAlert[]>;
}

/** The Office 365 client secret or certificate that expires first, counted in days the way the expiry banner counts them. */
export function nextSecretExpiry(servers: EmailServer[], now: number): SecretExpiry | null {
  let next: SecretExpiry | null = null;
  for (const server of servers) {
    const expiry = credentialExpiry(server);
    if (!expiry) continue;
    const left = daysLeft(expiry, now);
    if (!next || left < next.daysLeft) {
      next = { serverId: server.id, serverName: server.name, credential: expiry.credential, expires: expiry.expires, daysLeft: left };
    }
  }
  return next;
}

/** The route for `/`. */
export function dashboardRoutes({ store, now, alerts }: DashboardRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get('/', async (c) => {
    const at = now();
    const servers = await store.servers.list();
    const names = new Map(servers.map((s) => [s.id, s.name]));
    const waiting = await store.dashboard.waitingByServer();
    const oldest = await store.dashboard.oldestWaiting();
    const counts = await store.dashboard.queueCounts();
    const hours = await store.dashboard.hourly(at);
    const firing = await alerts?.();
    return c.render(
      <DashboardPage
        servers={servers.map((server) => ({ server, waiting: waiting.get(server.id) ?? 0 }))}
        counts={counts}
        hours={hours}
        oldest={oldest && { ...oldest, serverName: (oldest.serverId !== null && names.get(oldest.serverId)) || '(deleted server)' }}
        nextExpiry={nextSecretExpiry(servers, at)}
        now={at}
        alerts={firing}
      />,
      { title: 'Dashboard' },
    );
  });

  return app;
}
