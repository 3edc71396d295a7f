// Every signed-in page of the panel in Debian's Chromium on a 390 px phone screen, where the page never
// scrolls sideways (wide tables scroll inside their wrapper instead), and on a 1366 px laptop screen,
// where no table is wider than its box. The store is filled with long names, addresses and replies,
// the way a real install looks, and a SendAsDenied failure that went through the relay and the
// Microsoft 365 emulator. Screenshots of each page at both widths go to test-artifacts/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/admin/accounts.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { cidr } from '../../src/store/access-schemas.js';
import { assertEmulatorTrusted } from '../emulator/index.js';
import { queuedMessage } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';
import { waitFor } from '../helpers/wait.js';
import { chromiumAvailable, launchChromium, signIn, type Chromium } from './chromium.js';
import { startStack, type Stack } from './stack.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const ADMIN = { adminEmail: 'admin@contoso.test', adminPassword: 'a long admin password' };
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1366, height: 768 };
const LONG_REPLY =
  '550 5.7.60 SMTP; Client does not have permissions to send as this sender. [BN8NAM11FT012.eop-nam11.prod.protection.outlook.com 2024-01-01T00:00:00.000Z 08DC0123456789AB]';

const haveChromium = chromiumAvailable();

/** A file name for a page's screenshot; the failed message's page has a fixed one (its queue ID is new each run). */
const shot = (width: number, p: string): string =>
  path.join(ARTIFACTS, String(width), `${p.replace(/^\/log\/[0-9A-Z]{20}$/, '/log/sendasdenied').replace(/\W+/g, '_')}.png`);

describe.skipIf(!haveChromium)('the panel on a 390 px phone and a 1366 px laptop', () => {
  let stack: Stack;
  let browser: Chromium;
  let page: Page;
  const paths: string[] = [];

  beforeAll(async () => {
    assertEmulatorTrusted();
    for (const { width } of [PHONE, LAPTOP]) mkdirSync(path.join(ARTIFACTS, String(width)), { recursive: true });
    stack = await startStack(ADMIN);
    const { store } = stack.fx;
    const expires = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    // Pointed at the emulator (the relay tries to deliver the message queued below): never a Microsoft host.
    const server = store.sync.servers.add(
      emulatorServer(stack.emu, {
        name: 'office365-headquarters-printers',
        signInMode: 'authorize',
        clientSecret: 'Rly8Q~app.Secret.Value.0123456789',
        clientSecretExpires: expires,
        mailbox: 'multifunction-printers.headquarters@contoso-international-holdings.onmicrosoft.com',
        sendAs: ['accounts-payable.notifications@contoso-international-holdings.com'],
      }),
      true,
    );
    store.sync.servers.setStatus(server.id, {
      status: 'error',
      code: 'AADSTS7000215',
      message: 'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.',
      hint: 'Create a new client secret in the app registration and save its Value as Office 365 Client Secret.',
    });
    const user = store.sync.relayUsers.add({
      name: 'scanner-building-7-floor-3-east-wing',
      passwordHash: await hashPassword('a relay password of length'),
      serverId: server.id,
      allowFrom: ['scan-to-email.building7@contoso-international-holdings.com', '@subsidiary.contoso-international-holdings.com'],
    });
    store.sync.networks.add(cidr.parse('2001:db8:1234:5678::/64'), server.id);
    await addUser(store, {
      email: 'helpdesk.second-line@contoso-international-holdings.com',
      password: 'another long password',
      isSuperAdmin: false,
      canUpdateSettings: true,
    });
    const received = Date.now();
    store.sync.queue.insert([
      queuedMessage('PHONE0000001', server.id, {
        mailFrom: 'scan-to-email.building7@contoso-international-holdings.com',
        recipients: ['accounts-payable.invoices.incoming@contoso-international-holdings.com'],
        size: 48_213,
        subject: 'Scanned document from MFP-BLDG7-FL3-EAST (Konica Minolta bizhub C658) 2024-01-01 08:15:00',
        headerMessageId: '<scan.20240101081500.0001@mfp-bldg7-fl3-east.contoso-international-holdings.com>',
        clientAddress: '2001:db8:1234:5678:abcd:ef01:2345:6789',
        clientHelo: 'mfp-bldg7-fl3-east.contoso-international-holdings.com',
        route: 'relay user scanner-building-7-floor-3-east-wing',
        relayUser: user.name,
        receivedAt: received,
        expiresAt: received + 86_400_000,
      }),
    ]);
    store.sync.queue.addEvent('PHONE0000001', server.id, 'deferred', LONG_REPLY, received);
    store.sync.apiTokens.add({ name: 'provisioning script for the building 7 printers', scope: 'write' });
    const alert = {
      key: `server:${server.id}:authorization`,
      severity: 'critical' as const,
      title: 'office365-headquarters-printers cannot authenticate; its mail is held',
      server: server.name,
      code: 'AADSTS7000215',
      fix: 'Create a new client secret in the app registration and save its Value as Office 365 Client Secret.',
      detail: LONG_REPLY,
      repeats: true,
    };
    // The running alerts engine may have fired it already from the server's status: it then says this.
    const fired = store.sync.alerts.open().find((open) => open.key === alert.key);
    if (fired) store.sync.alerts.refresh(fired.id, alert);
    else store.sync.alerts.fire(alert, received);
    // Mail from an address the mailbox may not send as: Exchange Online answers 554 5.2.252 SendAsDenied
    // with its unbreakable STOREDRV… diagnostics, and the message fails for both recipients.
    const upstream = store.sync.servers.add(emulatorServer(stack.emu, { name: 'office365-contoso-international-holdings-erp' }));
    store.sync.networks.add(cidr.parse('127.0.0.2/32'), upstream.id);
    stack.relay.settingsChanged();
    const erp = nodemailer.createTransport({ host: '127.0.0.1', port: stack.smtpPort, ignoreTLS: true, localAddress: '127.0.0.2' });
    await erp.sendMail({
      from: 'accounts-payable.notifications@contoso-international-holdings.com',
      to: [
        'accounts-payable.invoices.incoming@contoso-international-holdings.com',
        'controller@subsidiary.contoso-international-holdings.com',
      ],
      subject: 'Invoice INV-2024-000123 from the ERP system of Contoso International Holdings (payment due 2024-02-01)',
      text: 'Invoice attached.',
    });
    erp.close();
    const failed = await waitFor(
      () => store.sync.queue.list({ status: 'failed', serverId: upstream.id }).find((m) => /SendAsDenied/.test(m.lastReply ?? '')),
      'the SendAsDenied failure',
      20_000,
    );
    // The Cluster page with a long instance name delivering for the long mailbox and running the alerts.
    const instance = 'relay365-headquarters-datacenter-frankfurt-01';
    store.sync.instances.join(instance, '1.0.0', Date.now(), 0);
    const lease = store.db.prepare('INSERT OR REPLACE INTO leases (name, holder, held_until) VALUES (?, ?, ?)');
    lease.run(
      'lane:mailbox:multifunction-printers.headquarters@contoso-international-holdings.onmicrosoft.com',
      instance,
      Date.now() + 600_000,
    );
    lease.run('job:alerts', instance, Date.now() + 600_000);
    paths.push(
      '/',
      '/servers',
      '/servers/new',
      `/servers/${server.id}`,
      `/servers/${server.id}/edit/mailbox`,
      `/servers/${server.id}/edit/send-as`,
      `/servers/${server.id}/edit/cloud`,
      `/servers/${server.id}/delete`,
      `/servers/${server.id}/authorize`,
      '/log',
      '/log/PHONE0000001',
      `/log/${failed.id}`,
      '/refused',
      '/account',
      '/relay-users',
      `/relay-users/${user.id}`,
      '/networks',
      '/users',
      '/alerts',
      '/api-tokens',
      '/cluster',
    );
    browser = await launchChromium();
    page = await browser.page();
    await page.setViewportSize(PHONE);
    await page.goto(`${stack.baseUrl}/login`);
    await signIn(page, ADMIN.adminEmail, ADMIN.adminPassword);
    // Signing in lands on the dashboard.
    await page.waitForURL(`${stack.baseUrl}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('scrolls no signed-in page sideways on a phone', async () => {
    await page.setViewportSize(PHONE);
    const overflowing: string[] = [];
    for (const p of paths) {
      const response = await page.goto(`${stack.baseUrl}${p}`);
      expect(response?.status(), p).toBe(200);
      expect(page.url(), p).toBe(`${stack.baseUrl}${p}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      await page.screenshot({ path: shot(PHONE.width, p), fullPage: true });
      if (width > PHONE.width) {
        // Name the widest elements, to say what to fix.
        const culprits = await page.evaluate((limit) => {
          const wide: string[] = [];
          for (const el of Array.from(document.querySelectorAll('body *'))) {
            const r = el.getBoundingClientRect();
            if (r.right > limit + 1 && !el.closest('.table-scroll'))
              wide.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.right)}`);
          }
          return wide.slice(0, 5);
        }, PHONE.width);
        overflowing.push(`${p}: ${width}px (${culprits.join('; ')})`);
      }
    }
    expect(overflowing).toEqual([]);
  });

  it('keeps every table of every signed-in page inside its box on a laptop', async () => {
    await page.setViewportSize(LAPTOP);
    const tooWide: string[] = [];
    for (const p of paths) {
      const response = await page.goto(`${stack.baseUrl}${p}`);
      expect(response?.status(), p).toBe(200);
      await page.screenshot({ path: shot(LAPTOP.width, p), fullPage: true });
      // A table wider than the room its box gives it is clipped behind a scrollbar (or sticks out).
      const tables = await page.evaluate(() =>
        Array.from(document.querySelectorAll('table:not(.visually-hidden table)')).flatMap((table) => {
          const box = table.parentElement as HTMLElement;
          const style = getComputedStyle(box);
          const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          const width = Math.max(table.getBoundingClientRect().width, table.scrollWidth);
          return width > room + 1 ? [`table.${table.className} ${Math.round(width)}px in ${Math.round(room)}px`] : [];
        }),
      );
      const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (pageWidth > LAPTOP.width) tables.push(`the page is ${pageWidth}px wide`);
      if (tables.length > 0) tooWide.push(`${p}: ${tables.join('; ')}`);
    }
    expect(tooWide).toEqual([]);
  });

  it.each([LAPTOP, PHONE])(
    'opens the whole SendAsDenied reply in the relay log with one click at $width px, still fitting',
    async (screen) => {
      await page.setViewportSize(screen);
      await page.goto(`${stack.baseUrl}/log?status=failed`);
      const reply = page.locator('table.log tbody tr', { hasText: 'Invoice INV-2024-000123' }).locator('details.whole-reply');
      await expect(reply.innerText()).resolves.not.toContain('[EndDiagnosticData]');
      await reply.locator('summary').click();
      await expect(reply.innerText()).resolves.toContain(
        'MapiExceptionSendAsDenied; Failed to process message due to a permanent exception',
      );
      await page.screenshot({ path: shot(screen.width, '/log/whole-reply'), fullPage: true });
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        table: document.querySelector('table.log')!.getBoundingClientRect().width,
        box: document.querySelector('.table-scroll')!.clientWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(screen.width);
      expect(widths.table).toBeLessThanOrEqual(widths.box + 1);
    },
  );
});
