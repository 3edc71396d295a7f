import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { runCommand } from '../../src/cli/commands.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createSigningKey, SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';
import { waitFor } from '../helpers/wait.js';
import type { ServerSettings } from '../../src/store/servers.js';

let signingKey: SigningKey;
let emu: Emulator;
let fx: Fixture;
let relay: Relay;
let smtpPort: number;
let clock: number;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

async function setup(server: Partial<ServerSettings> = {}): Promise<void> {
  clock = Date.now();
  emu = await startEmulator({ signingKey });
  fx = createFixture();
  fx.store.servers.add(emulatorServer(emu, server));
  relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, now: () => clock, pollMs: 50 });
  smtpPort = (await relay.start()).smtp.port;
}

afterEach(async () => {
  await relay.stop();
  await emu.close();
  fx.cleanup();
});

const client = () => nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });

async function submit(raw: string, to: string[] = ['alice@fabrikam.test']): Promise<string> {
  const info = await client().sendMail({ envelope: { from: SEED.mailbox, to }, raw });
  return /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
}

const message = (subject: string) =>
  `From: Relay <${SEED.mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße from the ERP.\r\n.leading dot line\r\n\r\nend\r\n`;

describe('delivery to Microsoft 365', () => {
  it('forwards the bytes unchanged after its Received: header, with XOAUTH2 as the mailbox', async () => {
    await setup();
    const raw = message('Invoice 42');
    const id = await submit(raw);
    const [received] = await emu.exchange.waitForMessages(1, 10_000);
    const bytes = received!.raw.toString('utf8');
    const headerEnd = bytes.indexOf('\r\nFrom: ') + 2;
    expect(bytes.slice(0, headerEnd)).toMatch(
      new RegExp(`^Received: from .+\\r\\n\\tby .+ \\(relay365\\) with ESMTP id ${id}\\r?\\n?[^]*\\+0000\\r\\n$`),
    );
    expect(received!.raw.subarray(Buffer.byteLength(bytes.slice(0, headerEnd)))).toEqual(Buffer.from(raw));
    expect(received).toMatchObject({ user: SEED.mailbox, tokenKind: 'app', mailFrom: SEED.mailbox, rcptTo: ['alice@fabrikam.test'] });
    await waitFor(() => fx.store.queue.get(id)?.status === 'delivered', 'delivered status');
    expect(fx.store.queue.get(id)?.lastReply).toMatch(/^250 2\.0\.0 OK/);
    await waitFor(() => !existsSync(relay.spool.path(id)), 'spool file removed');
    expect(fx.store.servers.findByName('o365')).toMatchObject({ status: 'authorized', authorizedAccount: SEED.mailbox });
  });

  it('delivers 1,000 queued messages with one token request and at most 3 connections', async () => {
    await setup();
    const sender = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
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
    await emu.exchange.waitForMessages(1000, 60_000);
    const tokenRequests = emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials');
    expect(tokenRequests).toHaveLength(1);
    expect(emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
    await waitFor(() => fx.store.queue.countsByStatus().delivered === 1000, '1000 delivered');
  });

  it('defers a 451 by one minute, then delivers it', async () => {
    await setup();
    emu.exchange.failNext({ stage: 'data', reply: '451 4.7.500 Server busy. Please try again later.' });
    const sentAt = clock;
    const id = await submit(message('retry me'));
    const deferred = await waitFor(() => (fx.store.queue.get(id)?.status === 'deferred' ? fx.store.queue.get(id) : undefined), 'deferred');
    expect(deferred.nextAttemptAt).toBe(sentAt + 60_000);
    expect(deferred.lastReply).toMatch(/^451 4\.7\.500/);
    clock += 59_000;
    relay.scheduler.poke();
    expect(fx.store.queue.get(id)?.status).toBe('deferred');
    clock += 1_000;
    relay.scheduler.poke();
    await emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => fx.store.queue.get(id)?.status === 'delivered', 'delivered after retry');
    expect(fx.store.queue.events(id).map((e) => e.kind)).toEqual(['received', 'deferred', 'delivered']);
  });

  it('fails the recipient Microsoft refuses with 550 and delivers to the others', async () => {
    await setup();
    emu.exchange.rejectRecipient('ghost@fabrikam.test');
    const id = await submit(message('partly'), ['alice@fabrikam.test', 'ghost@fabrikam.test', 'bob@fabrikam.test']);
    const [received] = await emu.exchange.waitForMessages(1, 10_000);
    expect(received!.rcptTo).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
    await waitFor(() => fx.store.queue.get(id)?.status === 'delivered', 'delivered');
    const recipients = Object.fromEntries(fx.store.queue.recipients(id).map((r) => [r.address, r]));
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
      const secret = emu.directory.findApp(SEED.tenantId, SEED.clientId)?.secrets[0];
      if (!secret) throw new Error('seeded secret missing');
      secret.expiresAt = new Date(Date.now() - 1000);
      emu.directory.addSecret(SEED.tenantId, SEED.clientId, { value: 'fresh-secret-value' });
    }
    const id = await submit(message('held'));
    await waitFor(() => fx.store.queue.get(id)?.status === 'held', 'held');
    const lines: string[] = [];
    runCommand(fx.store, 'server', ['list'], (line) => lines.push(line));
    const listing = lines.join('\n');
    expect(listing).toContain(code);
    expect(listing).toMatch(fix);
    expect(listing).not.toContain('the-secret-id-not-the-value');
    expect(emu.exchange.messages).toHaveLength(0);

    const secretFile = path.join(fx.dir, 'secret.txt');
    writeFileSync(secretFile, `${code === 'AADSTS7000222' ? 'fresh-secret-value' : SEED.clientSecret}\n`);
    runCommand(fx.store, 'server', ['set', 'o365', '--client-secret-file', secretFile], () => undefined);
    await emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => fx.store.queue.get(id)?.status === 'delivered', 'delivered after fix');
    expect(fx.store.servers.findByName('o365')?.status).toBe('authorized');
  });

  it('sends a test email now and returns the SMTP conversation without the token', async () => {
    await setup();
    const result = await relay.sendTest(fx.store.servers.findByName('o365')!.id, {
      to: 'alice@fabrikam.test',
      subject: 'Grüße – test',
      body: 'It works.\n.dot line',
    });
    expect(result).toMatchObject({ ok: true, reply: expect.stringMatching(/^250 2\.0\.0 OK/), hint: null });
    expect(result.transcript).toContain('C: AUTH XOAUTH2 <redacted>');
    expect(result.transcript.some((line) => line.startsWith('S: 235 2.7.0'))).toBe(true);
    // An access token is a JWT (eyJ…); none may reach the caller.
    expect(JSON.stringify(result)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    const [received] = emu.exchange.messages;
    expect(received!.raw.toString('utf8')).toMatch(/^From: relay@contoso\.test\r\nTo: alice@fabrikam\.test\r\nSubject: =\?UTF-8\?B\?/);
    expect(received!.raw.toString('utf8')).toContain('\r\n\r\nIt works.\r\n.dot line\r\n');
    expect(fx.store.queue.get(result.messageId!)).toMatchObject({ status: 'delivered', clientAddress: 'admin panel' });
  });

  it('reports a failed test email with the fix', async () => {
    await setup({ clientSecret: 'wrong-secret' });
    const result = await relay.sendTest(fx.store.servers.findByName('o365')!.id, { to: 'alice@fabrikam.test', subject: 'x', body: 'y' });
    expect(result.ok).toBe(false);
    expect(result.reply).toMatch(/AADSTS7000215/);
    expect(result.hint?.fix).toMatch(/Secret ID/);
    expect(JSON.stringify(result)).not.toContain('wrong-secret');
  });
});
