/**
 * GET /metrics on the admin listener, scraped while mail flows through the
 * relay to the Microsoft 365 emulator: the text parses strictly and its
 * counters and gauges follow what happens to the mail.
 */
import type { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import type { AdminEnv } from '../../src/admin/env.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createOperations } from '../../src/ops/index.js';
import { createMetrics } from '../../src/metrics.js';
import { PROBE_INTERVAL_MS } from '../../src/relay/outcomes.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { parseExposition, valueOf, type Family } from './exposition.js';

let signingKey: SigningKey;
let h: Harness;
let app: Hono<AdminEnv>;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

afterEach(() => h.close());

async function setup(server: Partial<ServerSettings> = {}, config: Partial<Config> = {}): Promise<void> {
  const metrics = createMetrics({ version: '0.0.0-test', nodeVersion: process.version, instanceId: 'relay-test' });
  h = await startHarness({ signingKey, server, metrics });
  // The harness replaces its relay on restart; the endpoints follow it.
  const relay = { listening: () => h.relay.listening() };
  const ops = createOperations({ config: h.fx.config, store: h.fx.store, relay, metrics, now: () => h.now() });
  app = createAdminApp({ config: { ...h.fx.config, ...config }, store: h.fx.store, relay: h.relay, log: silentLogger, ops });
}

async function scrape(headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await app.request('/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

const o365 = { server: 'o365' };
const status = (id: string): string | undefined => h.fx.store.sync.queue.get(id)?.status;

describe('GET /metrics', () => {
  it('counts mail accepted, delivered and deferred, with upstream replies, token requests and latency', async () => {
    await setup();
    let m = await scrape();
    expect(valueOf(m, 'relay365_messages_accepted_total', o365)).toBe(0);
    expect(valueOf(m, 'relay365_server_status', { ...o365, status: 'not_authorized' })).toBe(1);

    const first = await h.submit(testMessage('counted'));
    await waitFor(() => status(first) === 'delivered', 'delivered');
    m = await scrape();
    expect(valueOf(m, 'relay365_messages_accepted_total', o365)).toBe(1);
    expect(valueOf(m, 'relay365_messages_delivered_total', o365)).toBe(1);
    expect(valueOf(m, 'relay365_upstream_replies_total', { ...o365, class: '2xx', enhanced_code: '2.0.0' })).toBe(1);
    expect(valueOf(m, 'relay365_token_requests_total', { ...o365, result: 'ok', code: 'none' })).toBe(1);
    expect(valueOf(m, 'relay365_delivery_latency_seconds_count', o365)).toBe(1);
    expect(valueOf(m, 'relay365_smtp_sessions_total')).toBeGreaterThanOrEqual(1);
    expect(valueOf(m, 'relay365_server_status', { ...o365, status: 'authorized' })).toBe(1);

    h.emu.exchange.failNext({ stage: 'data', reply: '451 4.7.500 Server busy. Please try again later.' });
    const second = await h.submit(testMessage('deferred once'));
    await waitFor(() => status(second) === 'deferred', 'deferred');
    m = await scrape();
    expect(valueOf(m, 'relay365_messages_accepted_total', o365)).toBe(2);
    expect(valueOf(m, 'relay365_messages_deferred_total', o365)).toBe(1);
    expect(valueOf(m, 'relay365_upstream_replies_total', { ...o365, class: '4xx', enhanced_code: '4.7.500' })).toBe(1);
    expect(valueOf(m, 'relay365_queue_messages', { ...o365, status: 'deferred' })).toBe(1);
    expect(valueOf(m, 'relay365_spool_bytes')).toBeGreaterThan(testMessage('deferred once').length);
    expect(valueOf(m, 'relay365_database_bytes')).toBeGreaterThan(0);

    await h.advance(60_000);
    await waitFor(() => status(second) === 'delivered', 'delivered after the retry');
    m = await scrape();
    expect(valueOf(m, 'relay365_messages_delivered_total', o365)).toBe(2);
    expect(valueOf(m, 'relay365_queue_messages', { ...o365, status: 'deferred' })).toBe(0);
    expect(valueOf(m, 'relay365_queue_oldest_message_age_seconds')).toBe(0);
    // Accepted, then delivered a minute later on the relay's clock.
    expect(valueOf(m, 'relay365_delivery_latency_seconds_sum', o365)).toBeGreaterThanOrEqual(60);
    expect(valueOf(m, 'relay365_delivery_latency_seconds_bucket', { ...o365, le: '30' })).toBe(1);
    expect(valueOf(m, 'relay365_delivery_latency_seconds_bucket', { ...o365, le: '60' })).toBe(2);
  });

  it('counts held mail while SMTP AUTH is disabled for the mailbox, and the release', async () => {
    await setup();
    const mailbox = h.emu.directory.getMailbox(SEED.mailbox);
    mailbox.smtpAuthEnabled = false;
    const first = await h.submit(testMessage('held'));
    await waitFor(() => status(first) === 'held', 'held');
    // Less than the probe interval: the message stays held, and ages.
    await h.advance(4 * 60_000);
    let m = await scrape();
    expect(valueOf(m, 'relay365_messages_held_total', o365)).toBe(1);
    expect(valueOf(m, 'relay365_upstream_replies_total', { ...o365, class: '5xx', enhanced_code: '5.7.139' })).toBe(1);
    expect(valueOf(m, 'relay365_queue_messages', { ...o365, status: 'held' })).toBe(1);
    expect(valueOf(m, 'relay365_queue_oldest_message_age_seconds')).toBeGreaterThanOrEqual(240);
    expect(valueOf(m, 'relay365_server_status', { ...o365, status: 'error' })).toBe(1);

    mailbox.smtpAuthEnabled = true;
    await h.advance(PROBE_INTERVAL_MS - 4 * 60_000);
    await waitFor(() => status(first) === 'delivered', 'released and delivered');
    m = await scrape();
    expect(valueOf(m, 'relay365_messages_delivered_total', o365)).toBe(1);
    expect(valueOf(m, 'relay365_queue_messages', { ...o365, status: 'held' })).toBe(0);
    expect(valueOf(m, 'relay365_server_status', { ...o365, status: 'authorized' })).toBe(1);
  });

  it('counts token errors by AADSTS code and shows when the client secret expires', async () => {
    await setup({ clientSecret: 'the-secret-id-not-the-value', clientSecretExpires: '2030-01-31' });
    const id = await h.submit(testMessage('wrong secret'));
    await waitFor(() => status(id) === 'held', 'held');
    const m = await scrape();
    expect(valueOf(m, 'relay365_token_requests_total', { ...o365, result: 'error', code: 'AADSTS7000215' })).toBe(1);
    expect(valueOf(m, 'relay365_messages_held_total', o365)).toBe(1);
    // The secret works through its expiry day (UTC).
    expect(valueOf(m, 'relay365_client_secret_expiry_timestamp_seconds', o365)).toBe(Date.parse('2030-02-01T00:00:00Z') / 1000);
  });

  it('requires the bearer token when one is set, and shows no secret, token or address', async () => {
    const token = 'scrape-token-4f1c9a';
    await setup({}, { metricsToken: token });
    const id = await h.submit(testMessage('private'), ['alice@fabrikam.test']);
    await waitFor(() => status(id) === 'delivered', 'delivered');

    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`, 'Bearer ']) {
      const res = await app.request('/metrics', { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      expect(await res.text()).not.toContain(token);
    }
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(valueOf(parseExposition(text), 'relay365_messages_delivered_total', o365)).toBe(1);
    const cache = h.fx.store.sync.tokenCaches.load(h.serverId()) ?? '';
    const accessTokens = [...cache.matchAll(/"secret":"([^"]{20,})"/g)].map((match) => match[1] as string);
    expect(accessTokens.length).toBeGreaterThan(0);
    for (const secret of [token, SEED.clientSecret, ...accessTokens, 'alice@fabrikam.test', SEED.mailbox, id]) {
      expect(text).not.toContain(secret);
    }
  });
});
