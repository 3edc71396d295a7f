import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/index.js';
import type { AttemptResult, NewMessage } from '../../src/store/queue.js';
import { HOUR_MS, windowStart } from '../../src/store/dashboard.js';
import { DashboardPage, type DashboardProps } from '../../src/admin/views/dashboard.js';
import { chartScale, PLOT_HEIGHT } from '../../src/admin/views/hourly-chart.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

// The panel's clock stands still at 12:34:56 UTC; the chart's first hour is 13:00 the day before.
const NOW = Date.parse('2030-06-01T12:34:56Z');
const START = windowStart(NOW);
const DAY = 24 * HOUR_MS;
const SECRET = 'Rly8Q~dashboard.secret.value.0123456789';

let panel: Panel;
afterEach(() => panel?.cleanup());

function message(id: string, serverId: number, receivedAt: number): NewMessage {
  return queuedMessage(id, serverId, {
    mailFrom: 'erp@contoso.com',
    recipients: ['alice@fabrikam.com'],
    size: 100,
    subject: `Invoice ${id}`,
    receivedAt,
    expiresAt: receivedAt + 5 * DAY,
  });
}

const date = (days: number): string => new Date(NOW + days * DAY).toISOString().slice(0, 10);
const delivered: AttemptResult = { kind: 'done', delivered: [{ address: 'alice@fabrikam.com', reply: '250 2.0.0 OK' }], failed: [] };

/** Three servers in the three states, and mail in every state spread over the last day. */
function seed(store: SqliteStore): { ok: number; broken: number; smarthost: number } {
  const office = (name: string, expiresInDays: number) =>
    store.sync.servers.add(
      plainServer({
        name,
        method: 'office365',
        signInMode: 'application',
        secure: 'tls',
        host: 'smtp.office365.com',
        port: 587,
        tenantId: '11111111-2222-3333-4444-555555555555',
        clientId: '66666666-7777-8888-9999-000000000000',
        clientSecret: SECRET,
        clientSecretExpires: date(expiresInDays),
        mailbox: `${name.toLowerCase().replace(/\W+/g, '.')}@contoso.com`,
      }),
    ).id;
  const ok = office('Office 365', 40);
  const broken = office('Scanners', 5);
  const smarthost = store.sync.servers.add(plainServer({ name: 'smarthost' }), true).id;
  store.sync.servers.setStatus(ok, { status: 'authorized', account: 'relay@contoso.com', refreshedAt: NOW - 10 * 60_000 });
  store.sync.servers.setStatus(broken, {
    status: 'error',
    code: 'AADSTS7000215',
    message: 'Invalid client secret provided.',
    hint: 'Create a new client secret in the app registration and save its Value as Office 365 Client Secret.',
  });

  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  store.sync.queue.insert([
    ...ids('HOUR20', 4).map((id) => message(id, ok, START + 20 * HOUR_MS)),
    ...['DELIVERED22', 'DEFERRED22', 'FAILED22'].map((id) => message(id, ok, START + 22 * HOUR_MS)),
    ...ids('HELD', 2).map((id, i) => message(id, broken, NOW - (3 - i) * HOUR_MS)),
    message('QUEUED', smarthost, NOW - 60_000),
  ]);
  for (const id of ids('HOUR20', 4)) store.sync.queue.recordAttempt(id, delivered, START + 20 * HOUR_MS + 60_000);
  store.sync.queue.recordAttempt('DELIVERED22', delivered, START + 22 * HOUR_MS + 60_000);
  store.sync.queue.recordAttempt('DEFERRED22', { kind: 'defer', nextAttemptAt: NOW + HOUR_MS, reply: '451 4.7.500' }, START + 22 * HOUR_MS);
  store.sync.queue.recordAttempt(
    'FAILED22',
    { kind: 'done', delivered: [], failed: [{ address: 'alice@fabrikam.com', reply: '550 5.1.10 RecipientNotFound' }] },
    START + 22 * HOUR_MS,
  );
  store.sync.queue.holdServer(broken, '535 5.7.3 Authentication unsuccessful', START + 23 * HOUR_MS);
  return { ok, broken, smarthost };
}

interface Bar {
  hour: string;
  outcome: string;
  count: number;
  height: number;
}

/** The chart's bars, read from the SVG's rect elements. */
function bars(html: string): Bar[] {
  return [...html.matchAll(/<rect ([^>]*)>/g)].map(([, attrs = '']) => {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(attrs)?.[1] ?? '';
    return { hour: attr('data-hour'), outcome: attr('data-outcome'), count: Number(attr('data-count')), height: Number(attr('height')) };
  });
}

describe('dashboard', () => {
  async function open(): Promise<{ text: string; html: string; servers: ReturnType<typeof seed> }> {
    panel = createPanel();
    panel.clock.now = NOW;
    const servers = seed(panel.fx.store);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const res = await agent.get('/');
    expect(res.status).toBe(200);
    return { html: res.text, text: visibleText(res.text), servers };
  }

  it('is the home page, first in the navigation', async () => {
    const { html } = await open();
    expect(html).toContain('<title>Dashboard · relay365</title>');
    expect(/<nav aria-label="Main">\s*<a href="\/">Dashboard<\/a>/.test(html)).toBe(true);
  });

  it("shows each server's status with the Microsoft code and fix, linked to the server", async () => {
    const { html, text, servers } = await open();
    expect(text).toContain('Office 365 Authorized as relay@contoso.com, token refreshed 2030-06-01 12:24:56 UTC 1 waiting');
    expect(text).toContain(
      'Scanners Error: AADSTS7000215 Invalid client secret provided. Fix: Create a new client secret in the app registration and save its Value as Office 365 Client Secret. 2 waiting',
    );
    expect(text).toContain('smarthost (default) Not used yet 1 waiting');
    for (const id of Object.values(servers)) expect(html).toContain(`href="/servers/${id}"`);
    expect(html).toContain(`href="/log?server=${servers.broken}"`);
    expect(html).not.toContain(SECRET);
  });

  it('shows the queue by status, waiting mail linked to the relay log filtered by status', async () => {
    const { html, text } = await open();
    expect(text).toContain('Queue 1 queued 1 deferred 0 sending 2 held 5 delivered 1 failed Delivered and failed: the last 24 hours.');
    for (const status of ['queued', 'deferred', 'sending', 'held']) expect(html).toContain(`href="/log?status=${status}"`);
  });

  it('draws messages per hour as stacked bars scaled to the busiest hour', async () => {
    const { html, text } = await open();
    // The busiest hour has 4 messages: the scale goes up to 4 and a bar of 4 fills the plot.
    expect(chartScale(4)).toEqual({ top: 4, step: 1 });
    const unit = PLOT_HEIGHT / 4;
    expect(bars(html)).toEqual([
      { hour: '09:00', outcome: 'delivered', count: 4, height: 4 * unit },
      { hour: '11:00', outcome: 'delivered', count: 1, height: unit },
      { hour: '11:00', outcome: 'deferred', count: 1, height: unit },
      { hour: '11:00', outcome: 'failed', count: 1, height: unit },
      { hour: '12:00', outcome: 'held', count: 2, height: 2 * unit },
    ]);
    expect(html).toContain(
      '<title id="hourly-chart-title">Messages per hour over the last 24 hours: 5 delivered, 1 deferred, 2 held, 1 failed.</title>',
    );
    expect(html).toContain('viewBox="0 0 480 200"');
    // Hour labels every third hour, ending with the current one; a legend with the totals.
    expect(text).toContain('15:00 18:00 21:00 00:00 03:00 06:00 09:00 12:00');
    expect(text).toContain('delivered 5 deferred 1 held 2 failed 1');
    // The same figures as a table for screen readers: one row per hour.
    expect(text).toContain('09:00 4 0 0 0 10:00 0 0 0 0 11:00 1 1 0 1 12:00 0 0 2 0');
  });

  it.each([
    [0, 1, 1],
    [1, 1, 1],
    [4, 4, 1],
    [5, 6, 2],
    [9, 10, 5],
    [37, 40, 10],
    [100, 100, 50],
    [1234, 1500, 500],
  ])('scales a busiest hour of %i messages to %i with a gridline every %i', (max, top, step) => {
    expect(chartScale(max)).toEqual({ top, step });
  });

  it('shows the oldest waiting message with its age and link, and the next secret expiry in red within 7 days', async () => {
    const { html, text } = await open();
    expect(text).toContain('Oldest waiting message 3 h 0 min old, held Invoice HELD0 Scanners, received 2030-06-01 09:34:56 UTC');
    expect(html).toContain('href="/log/HELD0"');
    expect(text).toContain(`Next client secret expiry 5 days left Scanners expires in 5 days (${date(5)})`);
    expect(html).toMatch(/<p id="next-expiry" class="expiry-urgent">/);
  });

  it('says so when nothing waits and no secret expiry is set', async () => {
    panel = createPanel();
    panel.clock.now = NOW;
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const text = visibleText((await agent.get('/')).text);
    expect(text).toContain('No email server yet.');
    expect(text).toContain('Nothing is waiting.');
    expect(text).toContain('No Office 365 Client Secret Expires date is set.');
    expect(text).toContain('delivered 0 deferred 0 held 0 failed 0');
  });

  it('lists active alerts with server, time and fix when the alerts engine gives them', async () => {
    const props: DashboardProps = {
      servers: [],
      counts: { queued: 0, deferred: 0, sending: 0, held: 0 },
      hours: [],
      oldest: null,
      nextExpiry: null,
      now: NOW,
    };
    expect(visibleText(String(DashboardPage(props)))).not.toContain('Active alerts');
    expect(visibleText(String(DashboardPage({ ...props, alerts: [] })))).toContain('Active alerts No alert is firing.');
    const alert = {
      title: 'Email server Scanners lost its authorization',
      server: 'Scanners',
      since: NOW - HOUR_MS,
      fix: 'Click Authorize Account.',
    };
    const text = visibleText(String(DashboardPage({ ...props, alerts: [alert] })));
    expect(text).toMatch(
      /Active alerts Email server Scanners lost its authorization\s*, since 2030-06-01 11:34:56 UTC Fix: Click Authorize Account\./,
    );
    expect(text.match(/Scanners/g)).toHaveLength(1);
  });
});
