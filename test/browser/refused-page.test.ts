// The Refused page in Debian's Chromium at 1366 px and on a 390 px phone: neither the page nor the
// table scrolls sideways, because long details and hints wrap (on a phone each row is a block).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { addUser } from '../../src/admin/accounts.js';
import { startAdmin, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/log.js';
import { createRefusals } from '../../src/relay/refusals.js';
import { fakeRelay } from '../admin/panel.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { freePort } from '../helpers/relay-process.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';

const ADMIN = { email: 'admin@contoso.test', password: 'a long admin password' };
const LONG_TLS =
  'TLS handshake failed: the client offered TLSv1 only (ciphers ECDHE-RSA-AES256-SHA:AES256-SHA:DES-CBC3-SHA), relay365 requires TLSv1.2 or later: error:0A000102:SSL routines::unsupported protocol';

const haveChromium = chromiumAvailable();

describe.skipIf(!haveChromium)('the Refused page in a browser', () => {
  let fx: Fixture;
  let admin: AdminServer;
  let browser: Chromium;
  let page: Page;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://localhost:${port}`;
    fx = createFixture({ RELAY365_ADMIN_LISTEN: `127.0.0.1:${port}`, RELAY365_PUBLIC_URL: baseUrl });
    await addUser(fx.store, { email: ADMIN.email, password: ADMIN.password, isSuperAdmin: true, canUpdateSettings: true });
    const refusals = createRefusals({ store: fx.store, log: silentLogger });
    refusals.record({ reason: 'tls_failed', client: '2001:db8:1234:5678:abcd:ef01:2345:6789', detail: LONG_TLS });
    refusals.record({
      reason: 'too_big',
      client: '192.168.100.200',
      detail: `552 5.3.4 Message size exceeds fixed maximum message size of 36700160 bytes (41943040 bytes sent) ${'x'.repeat(120)}`,
      username: 'scanner-building-7-floor-3-east-wing',
    });
    await refusals.flush();
    admin = await startAdmin({ config: fx.config, store: fx.store, relay: fakeRelay(), log: silentLogger });
    browser = await launchChromium();
    page = await browser.page();
    await page.goto(`${baseUrl}/login`);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(`${baseUrl}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    fx?.cleanup();
  });

  it.each([
    [1366, 768],
    [390, 844],
  ])('fits %i px wide', async (width, height) => {
    await page.setViewportSize({ width, height });
    await page.goto(`${baseUrl}/refused`);
    expect(await page.getByRole('cell', { name: /TLS handshake failed: the client offered TLSv1 only/ }).isVisible()).toBe(true);
    const sizes = await page.evaluate(() => {
      const wrapper = document.querySelector('.table-scroll') as HTMLElement;
      return { page: document.documentElement.scrollWidth, wrapper: wrapper.scrollWidth, wrapperVisible: wrapper.clientWidth };
    });
    expect(sizes.page).toBeLessThanOrEqual(width);
    // Long details wrap inside their cells (on a phone each row is a block) instead of widening the table.
    expect(sizes.wrapper).toBeLessThanOrEqual(sizes.wrapperVisible);
  });
});
