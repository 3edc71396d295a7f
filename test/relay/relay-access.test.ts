/**
 * Relay access through the real listener, with clients at other loopback
 * addresses (Linux answers all of 127/8) so the relay sees different peers.
 */
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { silentLogger } from '../../src/log.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { createSigningKey, SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';
import { connectRaw } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'correct-horse-battery';
const RAW = `From: Scanner <${SEED.mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: scan\r\n\r\nscanned page\r\n`;

let signingKey: SigningKey;
let emu: Emulator | null = null;
let fx: Fixture;
let relay: Relay;
let port: number;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

afterEach(async () => {
  await relay.stop();
  await emu?.close();
  emu = null;
  fx.cleanup();
});

/** A relay on a fresh data folder; only 127.0.0.1 is an allowed network unless `env` says otherwise. */
async function start(env: Record<string, string> = {}): Promise<void> {
  fx = createFixture({ RELAY365_RELAY_NETWORKS: '127.0.0.1/32', ...env });
  relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, pollMs: 50 });
  port = (await relay.start()).smtp.port;
}

const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

/** A client at `localAddress`, optionally logging in (AUTH is only offered after STARTTLS). */
function clientAt(localAddress: string, auth?: { user: string; pass: string; method?: 'PLAIN' | 'LOGIN' }) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    localAddress,
    ...(auth
      ? {
          requireTLS: true,
          tls: { servername: 'localhost' },
          auth: { user: auth.user, pass: auth.pass },
          authMethod: auth.method ?? 'PLAIN',
        }
      : { ignoreTLS: true }),
  });
}

const send = (transport: ReturnType<typeof clientAt>, from = SEED.mailbox) =>
  transport.sendMail({ envelope: { from, to: ['alice@fabrikam.test'] }, raw: RAW });

const queueId = (response: string): string => /queued as ([0-9A-Z]+)/.exec(response)?.[1] as string;

describe('who may relay', () => {
  it('refuses a client outside every rule with 530 5.7.0 at MAIL FROM and queues nothing', async () => {
    await start();
    fx.store.sync.servers.add(plainServer());
    await expect(send(clientAt('127.0.0.5'))).rejects.toMatchObject({
      responseCode: 530,
      response: '530 5.7.0 Authentication required',
    });
    expect(fx.store.sync.queue.list()).toHaveLength(0);
  });

  it('refuses RCPT TO with 550 5.7.1 when MAIL FROM was refused (pipelined)', async () => {
    await start({ RELAY365_RELAY_NETWORKS: '' });
    fx.store.sync.servers.add(plainServer());
    const c = await connectRaw(port);
    await c.command('EHLO pipeline.test');
    c.write('MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    expect(await c.reply()).toMatch(/^530 5\.7\.0 /);
    expect(await c.reply()).toMatch(/^5\d\d /);
    expect(await c.reply()).toMatch(/^5\d\d /);
    c.close();
    expect(fx.store.sync.queue.list()).toHaveLength(0);
  });

  it('routes a network rule to its server and records the route and the client address', async () => {
    await start();
    fx.store.sync.servers.add(plainServer({ name: 'main' }));
    const scanners = fx.store.sync.servers.add(plainServer({ name: 'scanners' }));
    fx.store.sync.networks.add(cidr('127.0.0.0/24'), scanners.id);
    const info = await send(clientAt('127.0.0.5'));
    expect(fx.store.sync.queue.get(queueId(info.response))).toMatchObject({
      serverId: scanners.id,
      clientAddress: '127.0.0.5',
      route: 'network 127.0.0.0/24',
      relayUser: null,
    });
    // 127.0.0.1 matches both; the /32 from the environment is more specific and goes to the default server.
    const local = await send(clientAt('127.0.0.1'));
    expect(fx.store.sync.queue.get(queueId(local.response))).toMatchObject({
      serverId: fx.store.sync.servers.getDefault()?.id,
      route: 'network 127.0.0.1/32 (RELAY365_RELAY_NETWORKS)',
    });
  });

  it('delivers a relay user logged in with AUTH PLAIN and LOGIN through its server, as its mailbox', async () => {
    emu = await startEmulator({ signingKey });
    await start({ RELAY365_RELAY_NETWORKS: '' });
    fx.store.sync.servers.add(plainServer({ name: 'default' }));
    const o365 = fx.store.sync.servers.add(emulatorServer(emu));
    fx.store.sync.relayUsers.add({ name: 'scanner', passwordHash: await hashPassword(PASSWORD), serverId: o365.id, allowFrom: [] });

    const ehlo = await connectRaw(port, '127.0.0.1', '127.0.0.9');
    expect(await ehlo.command('EHLO printer.test')).not.toMatch(/AUTH/);
    ehlo.close();

    for (const method of ['PLAIN', 'LOGIN'] as const) {
      const info = await send(clientAt('127.0.0.9', { user: 'scanner', pass: PASSWORD, method }));
      expect(fx.store.sync.queue.get(queueId(info.response))).toMatchObject({
        serverId: o365.id,
        route: 'relay user scanner',
        relayUser: 'scanner',
        clientAddress: '127.0.0.9',
      });
    }
    const received = await emu.exchange.waitForMessages(2, 10_000);
    for (const message of received) expect(message).toMatchObject({ user: SEED.mailbox, mailFrom: SEED.mailbox });
    expect(received[0]!.raw.toString('utf8')).toMatch(/with ESMTPSA id /);
    expect(fx.store.sync.relayUsers.findByName('scanner')?.lastUsedAt).not.toBeNull();
    await waitFor(() => fx.store.sync.queue.countsByStatus().delivered === 2, 'both delivered');
  });

  it('refuses a sender outside the relay user allowed From list, at MAIL FROM and in the From header', async () => {
    await start({ RELAY365_RELAY_NETWORKS: '', RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
    const server = fx.store.sync.servers.add(plainServer());
    fx.store.sync.relayUsers.add({
      name: 'erp',
      passwordHash: await hashPassword(PASSWORD),
      serverId: server.id,
      allowFrom: ['@contoso.test'],
    });
    const plain = () =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        localAddress: '127.0.0.3',
        ignoreTLS: true,
        auth: { user: 'erp', pass: PASSWORD },
      });
    await expect(plain().sendMail({ envelope: { from: 'ceo@fabrikam.test', to: ['a@example.test'] }, raw: RAW })).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringMatching(/^550 5\.7\.1 Sender <ceo@fabrikam\.test> is not allowed for relay user erp/),
    });
    await expect(
      plain().sendMail({
        envelope: { from: 'erp@contoso.test', to: ['a@example.test'] },
        raw: 'From: CEO <ceo@fabrikam.test>\r\nSubject: x\r\n\r\nx\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('From header <ceo@fabrikam.test> is not allowed') });
    for (const second of ['From: CEO <ceo@fabrikam.test>', 'From : CEO <ceo@fabrikam.test>', 'FROM:ceo@fabrikam.test']) {
      await expect(
        plain().sendMail({
          envelope: { from: 'erp@contoso.test', to: ['a@example.test'] },
          raw: `From: ERP <erp@contoso.test>\r\n${second}\r\nSubject: x\r\n\r\nx\r\n`,
        }),
      ).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('The message has 2 From headers') });
    }
    await expect(
      plain().sendMail({
        envelope: { from: 'erp@contoso.test', to: ['a@example.test'] },
        raw: 'From : CEO <ceo@fabrikam.test>\r\nSubject: x\r\n\r\nx\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('From header <ceo@fabrikam.test> is not allowed') });
    const ok = await plain().sendMail({
      envelope: { from: 'erp@contoso.test', to: ['a@example.test'] },
      raw: 'From: ERP <erp@contoso.test>\r\nSubject: x\r\n\r\nx\r\n',
    });
    expect(ok.response).toMatch(/^250 /);
    expect(fx.store.sync.queue.list()).toHaveLength(1);
  });
});

describe('From Address Handling: reject', () => {
  it('refuses another sender at MAIL FROM, naming the address to use, and a foreign From header at the end of DATA', async () => {
    await start();
    fx.store.sync.servers.add(plainServer({ fromHandling: 'reject', mailbox: 'relay@contoso.test', sendAs: ['billing@contoso.test'] }));
    const local = clientAt('127.0.0.1');
    await expect(local.sendMail({ envelope: { from: 'ceo@fabrikam.test', to: ['a@example.test'] }, raw: RAW })).rejects.toMatchObject({
      responseCode: 550,
      response: '550 5.7.1 Sender <ceo@fabrikam.test> is not allowed through upstream: send as relay@contoso.test or billing@contoso.test',
    });
    await expect(
      local.sendMail({
        envelope: { from: 'billing@contoso.test', to: ['a@example.test'] },
        raw: 'From: Billing <billing@contoso.test>, CEO <ceo@fabrikam.test>\r\nSubject: x\r\n\r\nx\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('Sender <ceo@fabrikam.test> is not allowed') });
    await expect(
      local.sendMail({
        envelope: { from: 'billing@contoso.test', to: ['a@example.test'] },
        raw: 'From: Billing <billing@contoso.test>\r\nFrom: CEO <ceo@fabrikam.test>\r\nSubject: x\r\n\r\nx\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550, response: expect.stringContaining('The message has 2 From headers') });
    expect(fx.store.sync.queue.list()).toHaveLength(0);
    const ok = await local.sendMail({
      envelope: { from: 'Billing@contoso.test', to: ['a@example.test'] },
      raw: 'From: Billing <billing@contoso.test>\r\nSubject: x\r\n\r\nx\r\n',
    });
    expect(ok.response).toMatch(/^250 /);
  });
});

describe('brute force', () => {
  const attempt = (localAddress: string, pass: string) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port, localAddress, ignoreTLS: true, auth: { user: 'scanner', pass } })
      .verify()
      .then(
        () => 'ok',
        (err: { response?: string }) => err.response ?? String(err),
      );

  it('locks an address out after 5 failures, even for the right password, keeps others working, and survives a restart', async () => {
    let clock = Date.now();
    fx = createFixture({ RELAY365_RELAY_NETWORKS: '', RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
    const server = fx.store.sync.servers.add(plainServer());
    fx.store.sync.relayUsers.add({ name: 'scanner', passwordHash: await hashPassword(PASSWORD), serverId: server.id, allowFrom: [] });
    relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, now: () => clock, pollMs: 50 });
    port = (await relay.start()).smtp.port;

    for (let i = 0; i < 5; i++) expect(await attempt('127.0.0.7', `wrong-password-${i}`)).toMatch(/^535 5\.7\.8 /);
    expect(await attempt('127.0.0.7', PASSWORD)).toMatch(/^454 4\.7\.0 Too many failed logins/);
    expect(await attempt('127.0.0.8', PASSWORD)).toBe('ok');
    expect(fx.store.sync.lockouts.list(clock).map((l) => l.address)).toEqual(['127.0.0.7']);

    // A restart: a new relay over a newly opened database, nothing kept in memory.
    await relay.stop();
    const reopened = createStore(fx.dir, createSecretBox(Buffer.from('ab'.repeat(32), 'hex')));
    relay = createRelay({ config: fx.config, store: reopened, log: silentLogger, now: () => clock, pollMs: 50 });
    port = (await relay.start()).smtp.port;
    expect(await attempt('127.0.0.7', PASSWORD)).toMatch(/^454 4\.7\.0 /);

    // 15 minutes later the lockout is over; the next one lasts twice as long.
    clock += 15 * 60_000 + 1;
    expect(await attempt('127.0.0.7', PASSWORD)).toBe('ok');
    for (let i = 0; i < 5; i++) await attempt('127.0.0.7', 'wrong-again-123');
    const [lockout] = reopened.sync.lockouts.list(clock);
    expect(lockout).toMatchObject({ address: '127.0.0.7', strikes: 2, lockedUntil: clock + 30 * 60_000 });
    await relay.stop();
    await reopened.close();
    relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, pollMs: 50 });
  });

  it('refuses the old password at once after a password change or when the user is disabled', async () => {
    await start({ RELAY365_RELAY_NETWORKS: '', RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
    const server = fx.store.sync.servers.add(plainServer());
    const user = fx.store.sync.relayUsers.add({
      name: 'scanner',
      passwordHash: await hashPassword(PASSWORD),
      serverId: server.id,
      allowFrom: [],
    });
    expect(await attempt('127.0.0.7', PASSWORD)).toBe('ok');
    expect(await attempt('127.0.0.7', PASSWORD)).toBe('ok');
    fx.store.sync.relayUsers.update(user.id, { disabled: true });
    expect(await attempt('127.0.0.7', PASSWORD)).toMatch(/^535 /);
    fx.store.sync.relayUsers.update(user.id, { disabled: false, passwordHash: await hashPassword('a-brand-new-password') });
    expect(await attempt('127.0.0.7', PASSWORD)).toMatch(/^535 /);
    expect(await attempt('127.0.0.7', 'a-brand-new-password')).toBe('ok');
  });

  it('caps concurrent connections per client address with 421 4.7.0', async () => {
    await start({ RELAY365_MAX_CONNECTIONS_PER_CLIENT: '2' });
    const first = await connectRaw(port, '127.0.0.1');
    const second = await connectRaw(port, '127.0.0.1');
    const third = await connectRaw(port, '127.0.0.1');
    expect(third.greeting).toMatch(/^421 4\.7\.0 Too many connections from your address/);
    const elsewhere = await connectRaw(port, '127.0.0.1', '127.0.0.2');
    expect(elsewhere.greeting).toMatch(/^220 /);
    for (const c of [first, second, third, elsewhere]) c.close();
  });
});
