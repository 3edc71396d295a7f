/**
 * GET /healthz and GET /readyz on the admin app, over a real relay and store:
 * readiness follows the database, the SMTP listener and the free space, and
 * neither endpoint needs (or sets) a session. GET /api/v1/health answers as
 * /readyz, behind an API token.
 */
import type { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import type { AdminEnv } from '../../src/admin/env.js';
import { silentLogger } from '../../src/log.js';
import { createOperations } from '../../src/ops/index.js';
import { createMetrics } from '../../src/metrics.js';
import { createSigningKey, type SigningKey } from '../emulator/index.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';

let signingKey: SigningKey;
let h: Harness;
let app: Hono<AdminEnv>;
/** What the injected statfs probe answers, in bytes. */
let freeBytes: number;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

afterEach(() => h.close());

async function setup(): Promise<void> {
  h = await startHarness({ signingKey });
  freeBytes = 10e9;
  const relay = { listening: () => h.relay.listening() };
  const metrics = createMetrics({ version: '0.0.0-test', nodeVersion: process.version, instanceId: 'relay-test' });
  const ops = createOperations({ config: h.fx.config, store: h.fx.store, relay, metrics, freeSpace: async () => freeBytes });
  app = createAdminApp({ config: h.fx.config, store: h.fx.store, relay: h.relay, log: silentLogger, ops });
}

interface ReadyBody {
  status: string;
  failed: string[];
  checks: Record<string, { ok: boolean; detail: string }>;
}

async function readyz(): Promise<{ status: number; body: ReadyBody; headers: Headers }> {
  const res = await app.request('/readyz');
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as ReadyBody, headers: res.headers };
}

describe('GET /healthz', () => {
  it('answers 200 without signing in, even with a stale session cookie, and sets no cookie', async () => {
    await setup();
    for (const headers of [{}, { cookie: 'relay365_session=not-a-session' }] as Record<string, string>[]) {
      const res = await app.request('/healthz', { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('answers while the database refuses writes (the process is alive)', async () => {
    await setup();
    h.fx.store.db.pragma('query_only = ON');
    expect((await app.request('/healthz')).status).toBe(200);
    h.fx.store.db.pragma('query_only = OFF');
  });
});

describe('GET /readyz', () => {
  it('is 200 with every check passing, without signing in', async () => {
    await setup();
    const { status, body, headers } = await readyz();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', failed: [] });
    expect(body.checks).toMatchObject({ database: { ok: true }, smtp: { ok: true }, disk: { ok: true } });
    expect(headers.get('set-cookie')).toBeNull();
  });

  it('turns 503 naming the database while it is read-only, and 200 again once it takes writes', async () => {
    await setup();
    h.fx.store.db.pragma('query_only = ON');
    const refused = await readyz();
    expect(refused.status).toBe(503);
    expect(refused.body.status).toBe('not ready');
    expect(refused.body.failed).toEqual(['database']);
    expect(refused.body.checks.database?.detail).toMatch(/does not take writes \(SQLITE_READONLY\)/);
    expect(JSON.stringify(refused.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    h.fx.store.db.pragma('query_only = OFF');
    expect((await readyz()).status).toBe(200);
    // The probe really wrote: the row carries the time of the last check.
    const row = h.fx.store.db.prepare('SELECT checked_at AS at FROM health_probe WHERE id = 1').get() as { at: number };
    expect(row.at).toBeGreaterThan(0);
  });

  it('turns 503 naming the SMTP listener while it is closed, and 200 again once it listens', async () => {
    await setup();
    await h.relay.stop();
    const closed = await readyz();
    expect(closed.status).toBe(503);
    expect(closed.body.failed).toEqual(['smtp']);
    expect(closed.body.checks.smtp?.detail).toBe('not accepting connections');
    await h.restart();
    expect((await readyz()).status).toBe(200);
  });

  it('turns 503 naming the disk below RELAY365_MIN_FREE_SPACE, and 200 once space returns', async () => {
    await setup();
    freeBytes = 50e6;
    const full = await readyz();
    expect(full.status).toBe(503);
    expect(full.body.failed).toEqual(['disk']);
    expect(full.body.checks.disk?.detail).toBe('50 MB free, 100 MB needed');
    freeBytes = 150e6;
    expect((await readyz()).status).toBe(200);
  });
});

describe('GET /api/v1/health', () => {
  async function health(token: string | null): Promise<{ status: number; body: unknown }> {
    const res = await app.request('/api/v1/health', { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  }

  it('answers the body and status of /readyz, ready or not', async () => {
    await setup();
    const token = h.fx.store.sync.apiTokens.add({ name: 'monitor', scope: 'read' }).token;
    const sameAsReadyz = async (): Promise<{ status: number; body: unknown }> => {
      const { status, body } = await readyz();
      const answer = await health(token);
      expect(answer).toEqual({ status, body });
      return answer;
    };

    expect(await sameAsReadyz()).toMatchObject({ status: 200, body: { status: 'ready', failed: [] } });
    h.fx.store.db.pragma('query_only = ON');
    expect(await sameAsReadyz()).toMatchObject({ status: 503, body: { status: 'not ready', failed: ['database'] } });
    h.fx.store.db.pragma('query_only = OFF');
    await h.relay.stop();
    freeBytes = 50e6;
    expect(await sameAsReadyz()).toMatchObject({ status: 503, body: { failed: ['smtp', 'disk'] } });
  });

  it('answers 401 without an API token', async () => {
    await setup();
    expect(await health(null)).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
  });
});
