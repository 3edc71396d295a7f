/**
 * The endpoints monitoring reads, on the admin listener and without a
 * session: GET /healthz (the process answers), GET /readyz (the relay can take
 * mail: 200, or 503 naming each failed check) and GET /metrics (Prometheus
 * text format, behind `Authorization: Bearer` when RELAY365_METRICS_TOKEN is
 * set). They are mounted before the session, layout, CSRF and login
 * middleware, so no cookie is read or set and no database session is touched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { readinessStatus } from '../../ops/health.js';
import type { Operations } from '../../ops/index.js';
import type { AdminEnv } from '../env.js';

export interface OpsRoutesOptions {
  /** Without it only /healthz is served (a panel built without a relay, in tests). */
  ops?: Operations;
  /** RELAY365_METRICS_TOKEN, or null when /metrics is open. */
  metricsToken: string | null;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** True when `header` is `Bearer <token>`; compared in constant time (both sides hashed to one length). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** The /healthz, /readyz and /metrics routes. */
export function opsRoutes({ ops, metricsToken }: OpsRoutesOptions): Hono<AdminEnv> {
  // No use('*') here: mounted at `/`, a middleware of this router would run for every page of the panel.
  const app = new Hono<AdminEnv>();
  const live = { 'Cache-Control': 'no-store' };

  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, live));
  if (!ops) return app;

  app.get('/readyz', async (c) => {
    const readiness = await ops.health.ready();
    return c.json(readiness, readinessStatus(readiness), live);
  });

  app.get('/metrics', async (c) => {
    if (metricsToken !== null && !bearerMatches(c.req.header('authorization'), metricsToken)) {
      c.header('WWW-Authenticate', 'Bearer realm="relay365 metrics"');
      return c.text('A bearer token is required (RELAY365_METRICS_TOKEN).\n', 401);
    }
    const body = await ops.metrics.render(await ops.sample());
    return c.body(body, 200, { ...live, 'Content-Type': ops.metrics.contentType });
  });
  return app;
}
