// The admin panel in Debian's Chromium (playwright-core), following the admin guide's four steps
// against the Microsoft 365 emulator: sign in, create an office365 server, fill in the app, copy the
// redirect URI, Authorize Account at the emulator's pages, send a test email, read the relay log;
// then lose the authorization and win it back.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertEmulatorTrusted, createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { startStack, type Stack } from './stack.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };

const haveChromium = chromiumAvailable();

describe.skipIf(!haveChromium)('admin panel in Chromium', () => {
  let signingKey: SigningKey;
  let stack: Stack | undefined;
  let browser: Chromium | undefined;

  beforeAll(async () => {
    assertEmulatorTrusted();
    signingKey = await createSigningKey();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterEach(async () => {
    await browser?.close();
    await stack?.close();
    browser = stack = undefined;
  });

  async function open(): Promise<{ page: Page; stack: Stack }> {
    stack = await startStack({ ...ADMIN, signingKey });
    browser = await launchChromium();
    const { context } = browser;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.baseUrl });
    const page = await browser.page();
    return { page, stack };
  }

  /** Opens the server list, which asks to sign in first, and signs in. */
  async function openSignedIn(page: Page, s: Stack): Promise<void> {
    await page.goto(`${s.baseUrl}/servers`);
    await expect.poll(() => page.url()).toContain('/login');
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.waitForURL(`${s.baseUrl}/servers`);
  }

  /** Clicks a setting's edit icon, fills its input, saves. */
  async function edit(page: Page, label: string, value: string): Promise<void> {
    await page.getByRole('link', { name: `Edit ${label}`, exact: true }).click();
    await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain(`Saved ${label}.`);
  }

  /** Step 1 and 4 of the guide: a new office365 server with the app's IDs, pointed at the emulator. */
  async function createServer(page: Page, s: Stack): Promise<number> {
    await page.getByRole('link', { name: 'New email server' }).click();
    await page.getByLabel('Name').fill('Office 365');
    await page.getByLabel('office365').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/servers\/\d+$/);
    const id = Number(/\/servers\/(\d+)$/.exec(page.url())![1]);
    const text = await page.locator('table.settings').innerText();
    expect(text).toMatch(/Use Secure Connection\s+tls/);
    expect(text).toMatch(/Server Port\s+587/);
    expect(text).toMatch(/Server Host\s+smtp\.office365\.com/);
    await expect.poll(() => page.locator('table.settings').innerText()).toMatch(/SMTP Authentication Method\s+office365 Not Authorized/);

    // The emulator stands in for smtp.office365.com and login.microsoftonline.com.
    await edit(page, 'Server Host', s.emu.smtpHost);
    await edit(page, 'Server Port', String(s.emu.smtpPort));
    await page.getByRole('link', { name: 'Edit Office 365 Cloud' }).click();
    await page.getByLabel('Custom').check();
    await page.getByLabel('Authority Host').fill(s.emu.authorityHost);
    await page.getByLabel('SMTP Resource').fill('https://outlook.office.com');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Saved Office 365 Cloud.');

    await expect(page.getByRole('button', { name: 'Authorize Account' }).isDisabled()).resolves.toBe(true);
    await edit(page, 'Office 365 Tenant ID', SEED.tenantId);
    await edit(page, 'Office 365 Client ID', SEED.clientId);
    await edit(page, 'Office 365 Client Secret', SEED.clientSecret);
    return id;
  }

  /** Authorize Account, through the emulator's pages. */
  async function authorize(page: Page, s: Stack, expectConsent: boolean): Promise<void> {
    await page.getByRole('button', { name: 'Authorize Account' }).click();
    await page.waitForURL(`${s.emu.authorityHost}/**`);
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    await page.getByRole('button', { name: SEED.mailbox, exact: true }).click();
    if (expectConsent) {
      await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
      await page.getByRole('checkbox', { name: 'Consent on behalf of your organization' }).check();
      await page.getByRole('button', { name: 'Accept' }).click();
    }
    await page.waitForURL(/\/servers\/\d+$/);
    await expect.poll(() => page.locator('.flash').textContent()).toContain(`Authorized: relay365 now sends as ${SEED.mailbox}.`);
  }

  it('authorizes an Office 365 server at Microsoft, sends a test email as that account and shows it in the relay log', async () => {
    const { page, stack: s } = await open();
    s.emu.identity.revokeConsent();
    await openSignedIn(page, s);
    const id = await createServer(page, s);

    const redirect = page.getByLabel('Office 365 Redirect URI');
    await expect(redirect.inputValue()).resolves.toBe(s.redirectUri);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(s.redirectUri);

    await authorize(page, s, true);
    const settings = page.locator('table.settings');
    await expect
      .poll(() => settings.innerText())
      .toMatch(new RegExp(`SMTP Authentication Method\\s+office365 Authorized as ${SEED.mailbox}, token refreshed \\d{4}-`));
    await expect.poll(() => settings.innerText()).toMatch(new RegExp(`Mailbox\\s+${SEED.mailbox}`));

    await page.getByLabel('To').fill('alice@fabrikam.test');
    await page.getByLabel('Subject').fill('Panel test 1');
    await page.getByRole('button', { name: 'Send Test Email' }).click();
    await expect.poll(() => page.locator('#test-result').innerText(), { timeout: 20_000 }).toContain('Test email sent.');
    await expect(page.locator('#test-result pre').textContent()).resolves.toContain('235 2.7.0 Authentication successful');
    await expect(page.locator('#test-result pre').textContent()).resolves.not.toContain(SEED.clientSecret);
    const [received] = await s.emu.exchange.waitForMessages(1, 10_000);
    expect(received).toMatchObject({ user: SEED.mailbox, tokenKind: 'delegated', rcptTo: ['alice@fabrikam.test'] });
    // Nothing secret on the page: not the client secret, not a token from the sealed cache.
    const html = await page.content();
    const tokens = [...(s.fx.store.sync.tokenCaches.load(id) ?? '').matchAll(/"secret":"([^"]+)"/g)].map((m) => m[1]!);
    expect(tokens.length).toBeGreaterThan(0);
    for (const secret of [SEED.clientSecret, ...tokens]) expect(html).not.toContain(secret);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-server-page.png'), fullPage: true });

    await page.getByRole('link', { name: 'Relay log', exact: true }).click();
    const row = page.locator('table.log tbody tr', { hasText: 'Panel test 1' });
    await expect
      .poll(() => row.innerText())
      .toMatch(/delivered\s+relay@contoso\.test\s+to alice@fabrikam\.test\s+Panel test 1.*250 2\.0\.0 OK.*Office 365/s);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-relay-log.png'), fullPage: true });
  });

  it('holds new mail once the refresh token is revoked, shows Not Authorized, and delivers it after authorizing again', async () => {
    const { page, stack: s } = await open();
    // Short-lived access tokens: every delivery needs the refresh token.
    s.emu.identity.settings.tokenLifetimeSeconds = 120;
    await openSignedIn(page, s);
    const id = await createServer(page, s);
    await authorize(page, s, false);

    // The log page's live tail shows new events without a reload.
    await page.getByRole('link', { name: 'Relay log', exact: true }).click();
    await page.waitForFunction(() => document.getElementById('live-tail-state')?.dataset['live'] === 'on');

    s.emu.identity.revokeRefreshTokens(SEED.mailbox);
    const mail = nodemailer.createTransport({ host: '127.0.0.1', port: s.smtpPort, ignoreTLS: true });
    await mail.sendMail({ from: SEED.mailbox, to: 'bob@fabrikam.test', subject: 'Held while revoked', text: 'hello' });
    await waitFor(() => s.fx.store.sync.queue.countsByStatus(id).held === 1, 'the message held', 20_000);
    await expect.poll(() => page.locator('#live-tail').innerText(), { timeout: 10_000 }).toMatch(/held/);

    await page.goto(`${s.baseUrl}/servers/${id}`);
    const method = page.locator('table.settings tr', { hasText: 'SMTP Authentication Method' });
    await expect.poll(() => method.innerText()).toMatch(/Not Authorized\s+AADSTS50173/);
    await expect.poll(() => method.innerText()).toContain('Authorize Account again');

    await authorize(page, s, false);
    await s.emu.exchange.waitForMessages(1, 20_000);
    expect(s.emu.exchange.messages.map((m) => m.rcptTo)).toEqual([['bob@fabrikam.test']]);
    await waitFor(() => s.fx.store.sync.queue.countsByStatus(id).delivered === 1, 'the held message delivered', 20_000);
    await page.goto(`${s.baseUrl}/log?status=delivered`);
    await expect.poll(() => page.locator('table.log').innerText()).toContain('Held while revoked');
  });
});
