import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage as message, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

afterEach(() => h.close());

async function setup(server: Partial<ServerSettings> = {}): Promise<void> {
  h = await startHarness({ signingKey, server });
}

describe('delivery to Microsoft 365', () => {
  it('forwards the bytes unchanged after its Received: header, with XOAUTH2 as the mailbox', async () => {
    await setup();
    const raw = message('Invoice 42');
    const id = await h.submit(raw);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    const bytes = received!.raw.toString('utf8');
    const headerEnd = bytes.indexOf('\r\nFrom: ') + 2;
    expect(bytes.slice(0, headerEnd)).toMatch(
      new RegExp(`^Received: from .+\\r\\n\\tby .+ \\(relay365\\) with ESMTP id ${id}\\r?\\n?[^]*\\+0000\\r\\n$`),
    );
    expect(received!.raw.subarray(Buffer.byteLength(bytes.slice(0, headerEnd)))).toEqual(Buffer.from(raw));
    expect(received).toMatchObject({ user: SEED.mailbox, tokenKind: 'app', mailFrom: SEED.mailbox, rcptTo: ['alice@fabrikam.test'] });
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered status');
    expect(h.fx.store.sync.queue.get(id)?.lastReply).toMatch(/^250 2\.0\.0 OK/);
    await waitFor(() => !h.fx.store.sync.bodies.has(id), 'body removed');
    expect(h.fx.store.sync.servers.findByName('o365')).toMatchObject({ status: 'authorized', authorizedAccount: SEED.mailbox });
  });

  it('delivers 1,000 queued messages with one token request and at most 3 connections', async () => {
    await setup();
    const sender = nodemailer.createTransport({
      host: '127.0.0.1',
      port: h.smtpPort,
      ignoreTLS: true,
      pool: true,
      maxConnections: 10,
      maxMessages: Infinity,
    });
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        sender.sendMail({ envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] }, raw: message(`bulk ${i}`) }),
      ),
    );
    sender.close();
    await h.emu.exchange.waitForMessages(1000, 60_000);
    const tokenRequests = h.emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials');
    expect(tokenRequests).toHaveLength(1);
    expect(h.emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
    await waitFor(() => h.fx.store.sync.queue.countsByStatus().delivered === 1000, '1000 delivered');
  });

  it('defers a 451 by one minute, then delivers it', async () => {
    await setup();
    h.emu.exchange.failNext({ stage: 'data', reply: '451 4.7.500 Server busy. Please try again later.' });
    const sentAt = h.now();
    const id = await h.submit(message('retry me'));
    const deferred = await waitFor(
      () => (h.fx.store.sync.queue.get(id)?.status === 'deferred' ? h.fx.store.sync.queue.get(id) : undefined),
      'deferred',
    );
    expect(deferred.nextAttemptAt).toBe(sentAt + 60_000);
    expect(deferred.lastReply).toMatch(/^451 4\.7\.500/);
    await h.advance(59_000);
    expect(h.fx.store.sync.queue.get(id)?.status).toBe('deferred');
    await h.advance(1_000);
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered after retry');
    expect(h.fx.store.sync.queue.events(id).map((e) => e.kind)).toEqual(['received', 'deferred', 'delivered']);
  });

  it('fails the recipient Microsoft refuses with 550 and delivers to the others', async () => {
    await setup();
    h.emu.exchange.rejectRecipient('ghost@fabrikam.test');
    const id = await h.submit(message('partly'), ['alice@fabrikam.test', 'ghost@fabrikam.test', 'bob@fabrikam.test']);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received!.rcptTo).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered');
    const recipients = Object.fromEntries(h.fx.store.sync.queue.recipients(id).map((r) => [r.address, r]));
    expect(recipients['ghost@fabrikam.test']).toMatchObject({ status: 'failed', reply: expect.stringMatching(/^550 5\.1\.10/) });
    expect(recipients['alice@fabrikam.test']?.status).toBe('delivered');
    expect(recipients['bob@fabrikam.test']?.status).toBe('delivered');
  });

  it.each([
    ['a wrong client secret', 'AADSTS7000215', /Secret ID/, { clientSecret: 'the-secret-id-not-the-value' }],
    ['an expired client secret', 'AADSTS7000222', /new client secret/, {}],
  ])('holds mail on %s, shows %s with its fix, and delivers after server set', async (_what, code, fix, overrides) => {
    await setup(overrides);
    if (code === 'AADSTS7000222') {
      const secret = h.emu.directory.findApp(SEED.tenantId, SEED.clientId)?.secrets[0];
      if (!secret) throw new Error('seeded secret missing');
      secret.expiresAt = new Date(Date.now() - 1000);
      h.emu.directory.addSecret(SEED.tenantId, SEED.clientId, { value: 'fresh-secret-value' });
    }
    const id = await h.submit(message('held'));
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'held', 'held');
    const lines: string[] = [];
    await runCommand(h.fx.store, 'server', ['list'], (line) => lines.push(line));
    const listing = lines.join('\n');
    expect(listing).toContain(code);
    expect(listing).toMatch(fix);
    expect(listing).not.toContain('the-secret-id-not-the-value');
    expect(h.emu.exchange.messages).toHaveLength(0);

    const secretFile = path.join(h.fx.dir, 'secret.txt');
    writeFileSync(secretFile, `${code === 'AADSTS7000222' ? 'fresh-secret-value' : SEED.clientSecret}\n`);
    await runCommand(h.fx.store, 'server', ['set', 'o365', '--client-secret-file', secretFile], () => undefined);
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered after fix');
    expect(h.fx.store.sync.servers.findByName('o365')?.status).toBe('authorized');
  });

  it('sends a test email now and returns the SMTP conversation without the token', async () => {
    await setup();
    const result = await h.relay.sendTest(h.serverId(), {
      to: 'alice@fabrikam.test',
      subject: 'Grüße – test',
      body: 'It works.\n.dot line',
    });
    expect(result).toMatchObject({ ok: true, reply: expect.stringMatching(/^250 2\.0\.0 OK/), hint: null });
    expect(result.transcript).toContain('C: AUTH XOAUTH2 <redacted>');
    expect(result.transcript.some((line) => line.startsWith('S: 235 2.7.0'))).toBe(true);
    // An access token is a JWT (eyJ…); none may reach the caller.
    expect(JSON.stringify(result)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    const [received] = h.emu.exchange.messages;
    expect(received!.raw.toString('utf8')).toMatch(/^From: relay@contoso\.test\r\nTo: alice@fabrikam\.test\r\nSubject: =\?UTF-8\?B\?/);
    expect(received!.raw.toString('utf8')).toContain('\r\n\r\nIt works.\r\n.dot line\r\n');
    expect(h.fx.store.sync.queue.get(result.messageId!)).toMatchObject({ status: 'delivered', clientAddress: 'admin panel' });
  });

  it('never repeats what a server that is no SMTP server answered, in the test result or the relay log', async () => {
    const web = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\nX-Internal-Token: s3cr3t-from-intranet\r\n\r\n'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    await setup();
    const { port } = web.address() as net.AddressInfo;
    await runCommand(
      h.fx.store,
      'server',
      ['set', 'o365', '--host', '127.0.0.1', '--port', String(port), '--secure', 'none'],
      () => undefined,
    );
    h.relay.settingsChanged();
    const result = await h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'x', body: 'y' });
    web.close();
    expect(result.ok).toBe(false);
    expect(result.reply).toMatch(/did not answer like an SMTP server \(it sent \d+ bytes that are not an SMTP reply\)/);
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
    expect(JSON.stringify(result)).not.toContain('HTTP/1.1');
    expect(JSON.stringify(h.fx.store.sync.queue.get(result.messageId!))).not.toContain('s3cr3t');
  });

  it('reports a failed test email with the fix', async () => {
    await setup({ clientSecret: 'wrong-secret' });
    const result = await h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'x', body: 'y' });
    expect(result.ok).toBe(false);
    expect(result.reply).toMatch(/AADSTS7000215/);
    expect(result.hint?.fix).toMatch(/Secret ID/);
    expect(JSON.stringify(result)).not.toContain('wrong-secret');
  });

  it.each(['direct', 'challenge'] as const)(
    'retries a %s 535 once, with one more token request, instead of holding the mail',
    async (authFailure) => {
      h = await startHarness({ signingKey, emulator: { exchange: { authFailure } } });
      h.emu.exchange.failNext({ stage: 'auth', reply: REFUSED });
      const id = await h.submit(message('token refused once'));
      await h.emu.exchange.waitForMessages(1, 10_000);
      await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered');
      expect(h.emu.exchange.authAttempts.map((a) => a.ok)).toEqual([false, true]);
      expect(appTokenRequests()).toHaveLength(2);
      expect(h.fx.store.sync.servers.get(h.serverId())?.status).toBe('authorized');
    },
  );

  it.each(['direct', 'challenge'] as const)(
    'holds the mail when the fresh token meets a %s 535 too, after one retry',
    async (authFailure) => {
      h = await startHarness({ signingKey, emulator: { exchange: { authFailure } } });
      h.emu.exchange.failNext({ stage: 'auth', reply: REFUSED, count: 5 });
      const id = await h.submit(message('token refused'));
      await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'held', 'held');
      expect(h.emu.exchange.authAttempts.map((a) => a.ok)).toEqual([false, false]);
      expect(appTokenRequests()).toHaveLength(2);
      expect(h.fx.store.sync.queue.get(id)?.lastReply).toMatch(/^535 5\.7\.3 /);
    },
  );

  it("defers mail while the token endpoint throttles client credentials (429, AADSTS50196), also on MSAL's replay", async () => {
    await setup();
    h.emu.identity.failNext({ aadsts: 50196, grantType: 'client_credentials' });
    const id = await h.submit(message('throttled'));
    const first = await waitFor(() => deferred(id), 'deferred');
    expect(first.nextAttemptAt).toBe(h.now() + 60_000);
    expect(first.lastReply).toMatch(/^AADSTS50196: /);
    expect(appTokenRequests()).toHaveLength(1);
    // Within 60 s MSAL answers the retry with the same error without asking (its throttling cache).
    await h.advance(60_000);
    await waitFor(() => h.fx.store.sync.queue.events(id).filter((e) => e.kind === 'deferred').length === 2, 'deferred again');
    expect(h.fx.store.sync.queue.get(id)).toMatchObject({ status: 'deferred', nextAttemptAt: h.now() + 5 * 60_000 });
    expect(appTokenRequests()).toHaveLength(1);
    expect(h.fx.store.sync.servers.get(h.serverId())?.statusCode).not.toBe('AADSTS50196');
    expect(h.emu.exchange.messages).toHaveLength(0);
  });

  it.each([
    ['a throttled refresh (AADSTS50196)', 50196],
    ['an outage (503 AADSTS90033)', 90033],
  ])('defers Authorize Account mail on %s, then delivers it', async (_what, aadsts) => {
    await setup({ signInMode: 'authorize', smtpResource: 'https://outlook.office.com', mailbox: SEED.mailbox });
    // A token that MSAL renews on first use: within five minutes of its expiry.
    h.emu.identity.settings.tokenLifetimeSeconds = 120;
    await h.authorizeAccount();
    h.emu.identity.failNext({ aadsts, grantType: 'refresh_token' });
    const id = await h.submit(message('refresh throttled'));
    const first = await waitFor(() => deferred(id), 'deferred');
    expect(first.nextAttemptAt).toBe(h.now() + 60_000);
    expect(first.lastReply).toContain(`AADSTS${aadsts}`);
    expect(h.fx.store.sync.servers.get(h.serverId())?.status).toBe('authorized');
    await h.advance(60_000);
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered after the retry');
  });
});

const REFUSED = '535 5.7.3 Authentication unsuccessful [EMULATOR.prod.outlook.com]';

const appTokenRequests = () => h.emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials');

function deferred(id: string) {
  const row = h.fx.store.sync.queue.get(id);
  return row?.status === 'deferred' ? row : undefined;
}
