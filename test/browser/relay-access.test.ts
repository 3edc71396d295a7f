// Relay access in Debian's Chromium (playwright-core): an admin creates a relay user on the Relay users
// page and reads its generated password, shown once; adds an allowed network on the Networks page; then a
// legacy app (nodemailer) logs in with those credentials over STARTTLS at the relay's real SMTP listener,
// and the message shows in the relay log with its route; wrong passwords lock the client out until the
// admin unlocks it. The pages also fit a 390 px phone screen.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertEmulatorTrusted, SEED } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { waitFor } from '../helpers/wait.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { startStack, type Stack } from './stack.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };
const PHONE = { width: 390, height: 844 };

const haveChromium = chromiumAvailable();

/** True when the page is no wider than the window: wide tables scroll inside their wrapper instead. */
const fitsWidth = (page: Page): Promise<boolean> =>
  page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

describe.skipIf(!haveChromium)('relay access in Chromium', () => {
  let stack: Stack | undefined;
  let browser: Chromium | undefined;

  beforeAll(() => {
    assertEmulatorTrusted();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('creates a relay user whose one-time password a device then sends with, over STARTTLS, and logs its route', async () => {
    stack = await startStack(ADMIN);
    const s = stack;
    // The email server the relay user's mail goes to: Application sign-in at the emulator.
    s.fx.store.sync.servers.add(emulatorServer(s.emu, { name: 'Office 365' }));
    s.relay.settingsChanged();
    browser = await launchChromium();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.baseUrl });
    const page = await browser.page();

    await page.goto(`${s.baseUrl}/servers`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.waitForURL(`${s.baseUrl}/servers`);

    // Relay users: add one with a generated password.
    await page.getByRole('link', { name: 'Relay users', exact: true }).click();
    await page.getByLabel('Username').fill('scanner');
    await expect(page.getByLabel('Email server').inputValue()).resolves.toBe('1');
    await page.getByRole('button', { name: 'Add relay user' }).click();
    await page.waitForURL(/\/relay-users\/\d+$/);
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Added scanner.');
    const shown = page.getByLabel('Password of scanner');
    const password = await shown.inputValue();
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(password);
    const settings = await page.locator('dl.device-settings').innerText();
    expect(settings).toMatch(/SMTP server\s+localhost\s+Port\s+(\d+)\s+Security\s+STARTTLS\s+Authentication\s+on \(PLAIN or LOGIN\)/);
    expect(settings).toContain(String(s.smtpPort));
    await page.screenshot({ path: path.join(ARTIFACTS, 'relay-user-password.png'), fullPage: true });
    // Shown once: a reload no longer has it.
    await page.reload();
    await expect(page.getByLabel('Password of scanner').count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(password);

    // Networks: one allowed network, beside the rules from RELAY365_RELAY_NETWORKS.
    await page.getByRole('link', { name: 'Networks', exact: true }).click();
    await page.getByLabel('Network (CIDR)').fill('192.0.2.0/24');
    await page.getByRole('button', { name: 'Add network' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Added 192.0.2.0/24, routed to Office 365.');
    const rules = page.locator('table.networks');
    await expect(rules.locator('tr', { hasText: '192.0.2.0/24' }).innerText()).resolves.toMatch(/192\.0\.2\.0\/24\s+Office 365/);
    await expect(rules.locator('tr', { hasText: '127.0.0.0/8' }).innerText()).resolves.toContain('RELAY365_RELAY_NETWORKS');
    await expect(page.locator('dl.listener').innerText()).resolves.toContain('SHA-256 fingerprint');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-networks.png'), fullPage: true });

    // A legacy app logs in with the relay user: AUTH is only offered after STARTTLS.
    const mail = nodemailer.createTransport({
      host: 'localhost',
      port: s.smtpPort,
      requireTLS: true,
      auth: { user: 'scanner', pass: password },
    });
    await mail.sendMail({ from: SEED.mailbox, to: 'alice@fabrikam.test', subject: 'Scan from the MFP', text: 'scanned page' });
    mail.close();
    const [received] = await s.emu.exchange.waitForMessages(1, 20_000);
    expect(received).toMatchObject({ rcptTo: ['alice@fabrikam.test'] });
    const [logged] = s.fx.store.sync.queue.list({ limit: 10 });
    expect(logged).toMatchObject({ route: 'relay user scanner', relayUser: 'scanner', subject: 'Scan from the MFP' });
    await waitFor(() => s.fx.store.sync.queue.get(logged!.id)?.status === 'delivered', 'the message delivered', 20_000);

    await page.getByRole('link', { name: 'Relay log', exact: true }).click();
    const row = page.locator('table.log tbody tr', { hasText: 'Scan from the MFP' });
    await expect.poll(() => row.innerText()).toMatch(/delivered\s+relay@contoso\.test\s+to alice@fabrikam\.test\s+Scan from the MFP/);
    await expect(row.locator('td[data-label="Server and client"]').innerText()).resolves.toMatch(
      /^Office 365\s+from 127\.0\.0\.1\s+relay user scanner$/,
    );
    await row.getByRole('link', { name: 'Scan from the MFP' }).click();
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Route\s+relay user scanner/);

    // A device with a wrong password locks its address out of SMTP AUTH; the admin unlocks it.
    const login = (pass: string) =>
      nodemailer.createTransport({ host: 'localhost', port: s.smtpPort, requireTLS: true, auth: { user: 'scanner', pass } }).verify();
    for (let i = 0; i < 5; i++) await expect(login('a wrong password')).rejects.toThrow();
    await expect(login(password)).rejects.toThrow();

    // The relay users page shows when scanner last logged in, and the lockout.
    await page.getByRole('link', { name: 'Relay users', exact: true }).click();
    const user = page.locator('table.relay-users tr', { hasText: 'scanner' });
    await expect(user.innerText()).resolves.toMatch(/scanner\s+Office 365\s+any sender\s+enabled\s+\d{4}-\d\d-\d\d/);
    const lockout = page.locator('table.lockouts tbody tr');
    await expect(lockout.innerText()).resolves.toMatch(/127\.0\.0\.1\s+.*UTC\s+.*UTC\s+1\s+scanner/s);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-relay-users.png'), fullPage: true });
    await lockout.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Unlocked');
    await expect(page.getByText('No client address is locked out.').count()).resolves.toBe(1);
    await expect(login(password)).resolves.toBe(true);

    // On a phone: nothing wider than the screen.
    await page.setViewportSize(PHONE);
    for (const [pagePath, file] of [
      ['/relay-users', 'admin-relay-users-390.png'],
      ['/relay-users/1', 'relay-user-390.png'],
      ['/networks', 'admin-networks-390.png'],
      ['/log', 'admin-relay-log-390.png'],
    ] as const) {
      await page.goto(`${s.baseUrl}${pagePath}`);
      await expect(fitsWidth(page), pagePath).resolves.toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
    }
  });
});
