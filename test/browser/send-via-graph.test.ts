// The demo tried as a new user would, in Debian's Chromium: switch the demo server to Microsoft Graph in
// the panel, authorize again, send a test email, relay 20 messages (one with a recipient only in the
// envelope, one of 10 MB) and find each at the emulator's Graph endpoint once, with the right
// recipients; then switch back to SMTP.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertEmulatorTrusted, createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { waitFor } from '../helpers/wait.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { addDemoServer } from './demo-server.js';
import { startStack, type Stack } from './stack.js';

const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };
const haveChromium = chromiumAvailable();

describe.skipIf(!haveChromium)('the demo sending through Microsoft Graph', () => {
  let signingKey: SigningKey;
  let stack: Stack | undefined;
  let browser: Chromium | undefined;

  beforeAll(async () => {
    assertEmulatorTrusted();
    signingKey = await createSigningKey();
  });

  afterEach(async () => {
    await browser?.close();
    await stack?.close();
    browser = stack = undefined;
  });

  /** Picks Office 365 Send Via on the server's page and saves it. */
  async function switchSendVia(page: Page, label: string): Promise<void> {
    await page.getByRole('link', { name: 'Edit Office 365 Send Via', exact: true }).click();
    await page.getByLabel(label, { exact: true }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toContain('Saved Office 365 Send Via.');
  }

  /** Authorize Account through the emulator's pages (the organization's consent is there already). */
  async function authorize(page: Page, s: Stack): Promise<void> {
    await page.getByRole('button', { name: 'Authorize Account' }).click();
    await page.waitForURL(`${s.emu.authorityHost}/**`);
    await page.getByRole('button', { name: SEED.mailbox, exact: true }).click();
    await page.waitForURL(/\/servers\/\d+$/);
    await expect.poll(() => page.locator('.flash').textContent()).toContain(`Authorized: relay365 now sends as ${SEED.mailbox}.`);
  }

  /** Sends a test email from the server's page; resolves with the result box's text and its transcript. */
  async function sendTestEmail(page: Page, subject: string): Promise<{ result: string; transcript: string }> {
    await page.getByLabel('To').fill('alice@fabrikam.test');
    await page.getByLabel('Subject').fill(subject);
    await page.getByRole('button', { name: 'Send Test Email' }).click();
    await expect.poll(() => page.locator('#test-result').innerText(), { timeout: 30_000 }).toContain('Test email sent.');
    return {
      result: await page.locator('#test-result').innerText(),
      transcript: (await page.locator('#test-result pre').textContent()) ?? '',
    };
  }

  it('switches the demo server to Graph, sends a test email and 20 relayed messages that reach Graph once each, then switches back', async () => {
    const s = (stack = await startStack({ ...ADMIN, signingKey }));
    const id = addDemoServer(s);
    browser = await launchChromium();
    const page = await browser.page();
    await page.goto(`${s.baseUrl}/servers/${id}`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    await page.waitForURL(`${s.baseUrl}/servers/${id}`);
    const method = page.locator('table.settings tr', { hasText: 'SMTP Authentication Method' });

    // A user who authorized over SMTP first, then learns SMTP AUTH is off in the tenant.
    await authorize(page, s);
    await switchSendVia(page, 'Microsoft Graph');
    await expect.poll(() => page.locator('.flash').textContent()).toContain('click Authorize Account and sign in again');
    await expect.poll(() => method.innerText()).toMatch(/office365\s+Not Authorized/);
    await expect.poll(() => page.locator('table.settings').innerText()).toMatch(/Office 365 Send Via\s+Microsoft Graph/);
    await authorize(page, s);
    await expect.poll(() => method.innerText()).toMatch(new RegExp(`Authorized as ${SEED.mailbox}`));

    const { result, transcript } = await sendTestEmail(page, 'Graph test email');
    expect(result).toContain('Microsoft Graph requests');
    expect(transcript).toContain('sendMail');
    expect(transcript).not.toMatch(/eyJ[\w-]+\.eyJ/);
    const [test] = await s.emu.graph.waitForMessages(1, 20_000);
    expect(test).toMatchObject({ subject: 'Graph test email', tokenKind: 'delegated', recipients: ['alice@fabrikam.test'] });

    // 20 messages from an app, as swaks would send them: 18 plain, one with a recipient only in the envelope, one of 10 MB.
    const mail = nodemailer.createTransport({ host: '127.0.0.1', port: s.smtpPort, ignoreTLS: true });
    const attachment = randomBytes(10 * 1024 * 1024);
    const sent = Array.from({ length: 18 }, (_, i) =>
      mail.sendMail({ from: SEED.mailbox, to: 'alice@fabrikam.test', subject: `Relayed ${i + 1}`, text: `message ${i + 1}` }),
    );
    sent.push(
      mail.sendMail({
        envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test', 'bob@fabrikam.test'] },
        raw: `From: ${SEED.mailbox}\r\nTo: alice@fabrikam.test\r\nSubject: Envelope only\r\n\r\nbob is only in the envelope\r\n`,
      }),
      mail.sendMail({
        from: SEED.mailbox,
        to: 'carol@fabrikam.test',
        subject: 'Ten megabytes',
        text: 'the scan is attached',
        attachments: [{ filename: 'scan.pdf', contentType: 'application/pdf', content: attachment }],
      }),
    );
    await Promise.all(sent);
    mail.close();
    const all = await s.emu.graph.waitForMessages(21, 90_000);
    const subjects = all.map((m) => m.subject).sort();
    expect(subjects).toEqual(
      ['Graph test email', 'Envelope only', 'Ten megabytes', ...Array.from({ length: 18 }, (_, i) => `Relayed ${i + 1}`)].sort(),
    );
    const bySubject = new Map(all.map((m) => [m.subject, m]));
    expect(bySubject.get('Envelope only')).toMatchObject({ to: ['alice@fabrikam.test'], bcc: ['bob@fabrikam.test'] });
    expect(bySubject.get('Envelope only')?.recipients.sort()).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
    const big = bySubject.get('Ten megabytes');
    expect(big?.recipients).toEqual(['carol@fabrikam.test']);
    expect(big?.attachments.map((a) => [a.name, a.contentType, a.bytes.equals(attachment)])).toEqual([
      ['scan.pdf', 'application/pdf', true],
    ]);
    for (const m of all.filter((x) => x.subject.startsWith('Relayed'))) expect(m.recipients).toEqual(['alice@fabrikam.test']);
    await waitFor(() => s.fx.store.sync.queue.countsByStatus(id).delivered === 21, 'all 21 delivered', 20_000);
    expect(s.emu.exchange.messages.filter((m) => m.raw.includes('Relayed'))).toHaveLength(0);

    // Back to SMTP AUTH: authorize again and the next test email goes to Exchange.
    await page.goto(`${s.baseUrl}/servers/${id}`);
    await switchSendVia(page, 'SMTP (XOAUTH2 to Server Host)');
    await expect.poll(() => method.innerText()).toMatch(/office365\s+Not Authorized/);
    await authorize(page, s);
    expect((await sendTestEmail(page, 'Back to SMTP')).transcript).toContain('235 2.7.0 Authentication successful');
    const [back] = await s.emu.exchange.waitForMessages(1, 20_000);
    expect(back).toMatchObject({ rcptTo: ['alice@fabrikam.test'], tokenKind: 'delegated' });
    expect(s.emu.graph.messages).toHaveLength(21);
  });
});
