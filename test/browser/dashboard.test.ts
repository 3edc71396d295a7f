// The dashboard in Debian's Chromium, at desktop width and on a 390 px phone: the server states and
// the messages-per-hour chart are there and readable, and the page never scrolls sideways. The
// Office 365 servers point at the Microsoft 365 emulator, so nothing the relay does reaches Microsoft.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/index.js';
import type { AttemptResult, NewMessage } from '../../src/store/queue.js';
import { assertEmulatorTrusted, SEED } from '../emulator/index.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { startStack, type Stack } from './stack.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const HOUR = 60 * 60_000;

const haveChromium = chromiumAvailable();

/** Two Office 365 servers at the emulator (one authorized, one with a wrong secret) and a smarthost. */
function seedServers(stack: Stack): { ok: number; broken: number } {
  const { store } = stack.fx;
  const office = (name: string, clientSecret: string, expiresInDays: number) =>
    store.sync.servers.add(
      plainServer({
        name,
        method: 'office365',
        signInMode: 'application',
        secure: 'tls',
        host: stack.emu.smtpHost,
        port: stack.emu.smtpPort,
        cloud: 'custom',
        authorityHost: stack.emu.authorityHost,
        smtpResource: 'https://outlook.office.com',
        tenantId: SEED.tenantId,
        clientId: SEED.clientId,
        clientSecret,
        clientSecretExpires: new Date(Date.now() + expiresInDays * 24 * HOUR).toISOString().slice(0, 10),
        mailbox: SEED.mailbox,
      }),
    ).id;
  const ok = office('Office 365', SEED.clientSecret, 120);
  const broken = office('Scanners building 7', 'Rly8Q~an.old.secret.that.expired', 5);
  store.sync.servers.add(plainServer({ name: 'smarthost', host: '127.0.0.1', port: 2 }));
  store.sync.servers.setStatus(ok, { status: 'authorized', account: SEED.mailbox, refreshedAt: Date.now() - 5 * 60_000 });
  store.sync.servers.setStatus(broken, {
    status: 'error',
    code: 'AADSTS7000215',
    message: 'AADSTS7000215: Invalid client secret provided.',
    hint: 'Create a new client secret in the app registration and save its Value as Office 365 Client Secret.',
  });
  return { ok, broken };
}

/** A day of traffic: busy office hours, a few deferrals and failures, and the broken server's mail held. */
function seedTraffic(store: SqliteStore, { ok, broken }: { ok: number; broken: number }): void {
  const now = Date.now();
  const message = (id: string, serverId: number, receivedAt: number): NewMessage =>
    queuedMessage(id, serverId, {
      mailFrom: 'erp@contoso.test',
      recipients: ['alice@fabrikam.test'],
      size: 2048,
      subject: `Invoice ${id}`,
      receivedAt,
      expiresAt: receivedAt + 5 * 24 * HOUR,
    });
  const delivered: AttemptResult = { kind: 'done', delivered: [{ address: 'alice@fabrikam.test', reply: '250 2.0.0 OK' }], failed: [] };
  const failed: AttemptResult = {
    kind: 'done',
    delivered: [],
    failed: [{ address: 'alice@fabrikam.test', reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound' }],
  };
  // One synchronous transaction: the running relay never sees this mail waiting.
  store.db.transaction(() => {
    for (let h = 23; h >= 0; h--) {
      const at = now - h * HOUR;
      const busy = Math.round(6 + 14 * Math.max(0, Math.sin(((23 - h) / 23) * Math.PI)));
      const ids = Array.from({ length: busy + 2 }, (_, i) => `H${h}M${i}`);
      store.sync.queue.insert(ids.map((id) => message(id, ok, at - 60_000)));
      ids.forEach((id, i) => {
        if (i < busy) store.sync.queue.recordAttempt(id, delivered, at);
        else if (i === busy && h % 3 === 0)
          store.sync.queue.recordAttempt(id, { kind: 'defer', nextAttemptAt: now + 2 * HOUR, reply: '451 4.7.500 Server busy' }, at);
        else store.sync.queue.recordAttempt(id, h % 4 === 1 ? failed : delivered, at);
      });
    }
    store.sync.queue.insert(['HELD1', 'HELD2', 'HELD3'].map((id, i) => message(id, broken, now - (3 - i) * HOUR)));
    store.sync.queue.holdServer(broken, '535 5.7.3 Authentication unsuccessful', now - 2 * HOUR);
  })();
}

describe.skipIf(!haveChromium)('the dashboard in Chromium', () => {
  let stack: Stack;
  let browser: Chromium;
  let page: Page;

  beforeAll(async () => {
    assertEmulatorTrusted();
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack(ADMIN);
    seedTraffic(stack.fx.store, seedServers(stack));
    browser = await launchChromium();
    page = await browser.page();
    await page.goto(`${stack.baseUrl}/`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.waitForURL(`${stack.baseUrl}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** Opens the dashboard at `viewport` and checks what an admin looks at first. */
  async function checkDashboard(viewport: { width: number; height: number }, screenshot: string): Promise<void> {
    await page.setViewportSize(viewport);
    const response = await page.goto(`${stack.baseUrl}/`);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { name: 'Dashboard', level: 1 }).isVisible()).resolves.toBe(true);

    const states = page.locator('ul.server-states');
    await expect(states.innerText()).resolves.toMatch(new RegExp(`Office 365\\s+\\(default\\)\\s+Authorized as ${SEED.mailbox}`));
    await expect(states.innerText()).resolves.toMatch(/Scanners building 7\s+Error: AADSTS7000215[\s\S]*Fix: [\s\S]*Client Secret/);
    await expect(states.getByRole('link', { name: 'Scanners building 7' }).getAttribute('href')).resolves.toMatch(/^\/servers\/\d+$/);

    const chart = page.getByRole('img', { name: /^Messages per hour over the last 24 hours: \d+ delivered/ });
    await expect(chart.isVisible()).resolves.toBe(true);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(Math.min(300, viewport.width - 80));
    expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
    expect(await page.locator('svg.hourly-chart rect.bar-delivered').count()).toBe(24);
    expect(await page.locator('svg.hourly-chart rect.bar-failed').count()).toBeGreaterThan(0);
    await expect(page.locator('ul.legend').innerText()).resolves.toMatch(/delivered \d+\s+deferred \d+\s+held \d+\s+failed \d+/);
    // The hour labels stay legible: the SVG is never drawn smaller than 0.7 of its viewBox.
    expect(box!.width / 480).toBeGreaterThanOrEqual(0.7);

    await expect(page.locator('#oldest-waiting').innerText()).resolves.toMatch(/^21 h \d+ min old, deferred\s+Invoice H21M\d+/);
    await expect(page.locator('#next-expiry').innerText()).resolves.toMatch(/5 days left\s+Scanners building 7 expires in 5 days/);
    await expect(page.locator('#next-expiry').evaluate((el) => getComputedStyle(el).color)).resolves.toBe('rgb(179, 38, 30)');

    await page.screenshot({ path: path.join(ARTIFACTS, screenshot), fullPage: true });
    // Name the elements that stick out, to say what to fix.
    const wide = await page.evaluate(
      (limit) =>
        Array.from(document.querySelectorAll('body *'))
          .filter((el) => el.getBoundingClientRect().right > limit + 1 && !el.closest('.visually-hidden'))
          .map((el) => `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''}`),
      viewport.width,
    );
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
  }

  it('shows the server states and the chart at desktop width', async () => {
    await checkDashboard(DESKTOP, 'dashboard-desktop.png');
  });

  it('shows the server states and the chart on a 390 px phone without scrolling sideways', async () => {
    await checkDashboard(PHONE, 'dashboard-phone.png');
  });
});
