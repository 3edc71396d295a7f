// Authorize Account in Chromium from the address the relay's own listen line shows
// (http://127.0.0.1:PORT) while RELAY365_PUBLIC_URL is http://localhost:PORT: the panel sends the
// browser to the public URL first, so Microsoft's answer comes back to the session that started it.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertEmulatorTrusted, createSigningKey, SEED } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { startStack, type Stack } from './stack.js';

const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };
const haveChromium = chromiumAvailable();

describe.skipIf(!haveChromium)('Authorize Account opened by another host name', () => {
  let stack: Stack;
  let browser: Chromium;
  let page: Page;

  beforeAll(async () => {
    assertEmulatorTrusted();
    stack = await startStack({ ...ADMIN, signingKey: await createSigningKey() });
    browser = await launchChromium();
    page = await browser.page();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('moves to PUBLIC_URL before signing in at Microsoft, and the sign-in then completes', async () => {
    const { emu, fx, baseUrl } = stack;
    const server = fx.store.sync.servers.add(
      emulatorServer(emu, {
        name: 'Office 365',
        signInMode: 'authorize',
        smtpResource: 'https://outlook.office.com',
        mailbox: null,
        messagesPerMinute: 30,
      }),
      true,
    );
    emu.identity.revokeConsent();
    const other = baseUrl.replace('//localhost:', '//127.0.0.1:');
    await page.goto(`${other}/login`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.goto(`${other}/servers/${server.id}`);
    await page.getByRole('button', { name: 'Authorize Account' }).click();
    // Signed in at 127.0.0.1 only: the public URL asks to sign in, then comes back to Authorize Account.
    await page.waitForURL(`${baseUrl}/login?next=${encodeURIComponent(`/servers/${server.id}/authorize`)}`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.waitForURL(`${baseUrl}/servers/${server.id}/authorize`);
    await expect(page.locator('main').innerText()).resolves.toContain(`Authorize Account runs at ${baseUrl}`);
    await page.getByRole('button', { name: 'Authorize Account' }).click();
    await page.waitForURL(`${emu.authorityHost}/**`);
    await page.getByRole('button', { name: SEED.mailbox, exact: true }).click();
    await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
    await page.getByRole('checkbox', { name: 'Consent on behalf of your organization' }).check();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${baseUrl}/servers/${server.id}`);
    await expect.poll(() => page.locator('.flash').textContent()).toContain(`Authorized: relay365 now sends as ${SEED.mailbox}.`);
  });
});
