/**
 * Connection limits that stop abuse and nothing else: a client is counted
 * only while its session lasts, bursts from one address pass, idle sessions
 * from elsewhere cannot lock out the allowed networks, and sessions that send
 * no mail end.
 */
import net from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { SEED } from '../emulator/index.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener } from '../helpers/listener.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { connectRaw, type RawClient } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness | null = null;
let fx: Fixture | null = null;
let listener: TestListener | null = null;

afterEach(async () => {
  await listener?.close();
  fx?.cleanup();
  await h?.close();
  [h, fx, listener] = [null, null, null];
});

/** Sends `perClient` messages from each of `clients` concurrent clients, each message on a new connection; returns the failures. */
async function burst(port: number, clients: number, perClient: number, tag: string, starttls: boolean): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      // No pool: nodemailer opens a connection for every message and says QUIT after it, as many apps do.
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        ...(starttls ? { requireTLS: true, tls: { rejectUnauthorized: false } } : { ignoreTLS: true }),
      });
      for (let m = 0; m < perClient; m++) {
        const subject = `${tag} ${c}-${m}`;
        try {
          await transport.sendMail({
            envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
            raw: `From: ${SEED.mailbox}\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\n\r\nburst\r\n`,
          });
        } catch (err) {
          failures.push(`${subject}: ${(err as Error).message}`);
        }
      }
    }),
  );
  return failures;
}

/** Subjects the emulator received, each with how often. */
function receivedSubjects(harness: Harness): Map<string, number> {
  const seen = new Map<string, number>();
  for (const message of harness.emu.exchange.messages) {
    const subject = /^Subject: (.*)$/m.exec(message.raw.toString('utf8'))?.[1]?.trim() ?? '';
    seen.set(subject, (seen.get(subject) ?? 0) + 1);
  }
  return seen;
}

/** Resolves with what the server wrote before it closed the connection. */
function closedWith(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

describe('connection limits', () => {
  it('never refuses a client that reconnects at once after QUIT, at a limit of one connection', async () => {
    fx = createFixture({ RELAY365_MAX_CONNECTIONS_PER_CLIENT: '1' });
    listener = await startTestListener(fx);
    for (let i = 0; i < 200; i++) {
      const c = await connectRaw(listener.port);
      expect(c.greeting, `connection ${i}`).toMatch(/^220 /);
      expect(await c.command('QUIT')).toMatch(/^221 /);
      c.close();
    }
  });

  it.each([
    { clients: 20, perClient: 15, starttls: false, over: 'plain SMTP' },
    { clients: 50, perClient: 6, starttls: false, over: 'plain SMTP' },
    { clients: 20, perClient: 5, starttls: true, over: 'STARTTLS' },
  ])(
    'accepts $clients clients from one address, each opening a new connection per message over $over, and delivers every message once',
    async ({ clients, perClient, starttls }) => {
      h = await startHarness({
        env: { RELAY365_MAX_CONNECTIONS_PER_CLIENT: String(clients) },
        server: { messagesPerMinute: 100_000 },
      });
      const total = clients * perClient;
      expect(await burst(h.smtpPort, clients, perClient, `burst${clients}`, starttls)).toEqual([]);
      await h.emu.exchange.waitForMessages(total, 60_000);
      const seen = receivedSubjects(h);
      expect(seen.size).toBe(total);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    },
  );

  it('keeps serving the allowed networks while idle sessions from elsewhere hold their whole share', async () => {
    fx = createFixture({ RELAY365_RELAY_NETWORKS: '127.0.0.1/32', RELAY365_MAX_CONNECTIONS: '20' });
    fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    listener = await startTestListener(fx);
    const port = listener.port;
    const idle = await Promise.all(Array.from({ length: 24 }, (_, i) => connectRaw(port, '127.0.0.1', `127.0.0.${2 + (i % 12)}`)));
    const greetings = idle.map((c) => c.greeting.slice(0, 9));
    // Four fifths of 20 for clients outside the allowed networks, the rest refused while they hold them.
    expect(greetings.filter((g) => g.startsWith('220 '))).toHaveLength(16);
    expect(greetings.filter((g) => g === '421 4.3.2')).toHaveLength(8);
    const app = await connectRaw(listener.port);
    expect(app.greeting).toMatch(/^220 /);
    await app.command('EHLO erp.test');
    expect(await app.command('MAIL FROM:<erp@contoso.test>')).toMatch(/^250 /);
    expect(await app.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
    expect(await app.command('DATA')).toMatch(/^354 /);
    expect(await app.command('Subject: invoice\r\n\r\nattached\r\n.')).toMatch(/^250 /);
    app.close();
    for (const c of idle) c.destroy();
    await waitFor(() => fx?.store.sync.refusals.list({ reason: 'server_busy' }).reduce((n, r) => n + r.count, 0) === 8, 'eight refusals');
  });

  it('ends a session after 100 commands that move no mail, counting again after each message', async () => {
    fx = createFixture();
    fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    listener = await startTestListener(fx);
    const c = await connectRaw(listener.port, '127.0.0.1', '127.0.0.3');
    await c.command('EHLO chatty.test');
    for (let i = 0; i < 60; i++) expect(await c.command(i % 2 ? 'NOOP' : 'RSET')).toMatch(/^250 /);
    expect(await c.command('MAIL FROM:<erp@contoso.test>')).toMatch(/^250 /);
    expect(await c.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
    expect(await c.command('DATA')).toMatch(/^354 /);
    expect(await c.command('Subject: one\r\n\r\nbody\r\n.')).toMatch(/^250 /);
    for (let i = 0; i < 100; i++) expect(await c.command('NOOP')).toMatch(/^250 /);
    expect(await c.command('NOOP')).toMatch(/^421 4\.7\.0 Too many commands without mail/);
    await waitFor(() => fx?.store.sync.refusals.list({ reason: 'junk_commands' })[0], 'the junk refusal');
    expect(fx.store.sync.refusals.list({ reason: 'junk_commands' })[0]).toMatchObject({ client: '127.0.0.3' });
  });

  it('ends a session that says nothing outside a transaction, but not one inside a transaction', async () => {
    fx = createFixture();
    fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    listener = await startTestListener(fx, { sessionIdleMs: 100, socketTimeoutMs: 60_000 });
    const quiet = await connectRaw(listener.port);
    await quiet.command('EHLO quiet.test');
    const busy = await connectRaw(listener.port);
    await busy.command('EHLO busy.test');
    expect(await busy.command('MAIL FROM:<erp@contoso.test>')).toMatch(/^250 /);
    // The quiet session ends after its idle time; by then the busy one has waited as long.
    expect(await quiet.reply()).toMatch(/^421 4\.4\.2 Idle too long/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await busy.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
    busy.close();
  });
});

describe('PROXY protocol', () => {
  const proxied = (env: Record<string, string> = {}): Fixture =>
    createFixture({
      RELAY365_SMTP_PROXY_PROTOCOL: 'true',
      RELAY365_TRUSTED_PROXIES: '127.0.0.1/32',
      RELAY365_RELAY_NETWORKS: '192.0.2.0/24',
      ...env,
    });
  const v2 = (ip: number[], family: 'ipv4' | 'ipv6'): Buffer => {
    const addresses = family === 'ipv4' ? [...ip, 127, 0, 0, 1, 0x9c, 0x40, 0, 25] : [...ip, ...Array(15).fill(0), 1, 0x9c, 0x40, 0, 25];
    return Buffer.concat([
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
      Buffer.from([0x21, family === 'ipv4' ? 0x11 : 0x21, 0, addresses.length]),
      Buffer.from(addresses),
    ]);
  };

  it('takes the client address from a trusted proxy header (v1 and v2) for routing and the relay log', async () => {
    fx = proxied();
    fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    listener = await startTestListener(fx);
    const send = async (c: RawClient, subject: string): Promise<string> => {
      expect(c.greeting).toMatch(/^220 /);
      await c.command('EHLO lb.test');
      expect(await c.command('MAIL FROM:<printer@contoso.test>')).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
      await c.command('DATA');
      const reply = await c.command(`Subject: ${subject}\r\n\r\nscan\r\n.`);
      c.close();
      return /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
    };
    const first = await send(await connectRaw(listener.port, '127.0.0.1', undefined, 'PROXY TCP4 192.0.2.10 127.0.0.1 40000 25\r\n'), 'v1');
    const second = await send(await connectRaw(listener.port, '127.0.0.1', undefined, v2([192, 0, 2, 11], 'ipv4')), 'v2');
    expect(fx.store.sync.queue.get(first)?.clientAddress).toBe('192.0.2.10');
    expect(fx.store.sync.queue.get(second)?.clientAddress).toBe('192.0.2.11');
    // A health check (PROXY UNKNOWN) is the proxy itself, which is no allowed network.
    const check = await connectRaw(listener.port, '127.0.0.1', undefined, 'PROXY UNKNOWN\r\n');
    expect(check.greeting).toMatch(/^220 /);
    await check.command('EHLO lb.test');
    expect(await check.command('MAIL FROM:<printer@contoso.test>')).toMatch(/^530 /);
    check.close();
  });

  it('counts proxied IPv6 clients per /64', async () => {
    fx = proxied({ RELAY365_MAX_CONNECTIONS_PER_CLIENT: '2' });
    listener = await startTestListener(fx);
    const at = (group: number, host: number) => v2([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, group, ...Array(7).fill(0), host], 'ipv6');
    const open = [
      await connectRaw(listener.port, '127.0.0.1', undefined, at(1, 1)),
      await connectRaw(listener.port, '127.0.0.1', undefined, at(1, 2)),
    ];
    const third = await connectRaw(listener.port, '127.0.0.1', undefined, at(1, 3));
    expect(third.greeting).toMatch(/^421 4\.7\.0 Too many connections from your address \(limit 2\)/);
    const otherNetwork = await connectRaw(listener.port, '127.0.0.1', undefined, at(2, 1));
    expect(otherNetwork.greeting).toMatch(/^220 /);
    for (const c of [...open, third, otherNetwork]) c.destroy();
    await waitFor(() => fx?.store.sync.refusals.list({ reason: 'too_many_connections' })[0], 'the refusal');
    expect(fx.store.sync.refusals.list({ reason: 'too_many_connections' })[0]?.client).toBe('2001:db8:0:1::3');
  });

  it('drops a connection from a peer that is no trusted proxy, and a malformed header, with a refusal each', async () => {
    fx = proxied();
    listener = await startTestListener(fx);
    const direct = await closedWith(net.connect({ port: listener.port, host: '127.0.0.1', localAddress: '127.0.0.2' }));
    expect(direct).toBe('');
    const garbage = net.connect({ port: listener.port, host: '127.0.0.1' });
    garbage.write('EHLO not-a-proxy.test\r\n');
    expect(await closedWith(garbage)).toBe('');
    await waitFor(() => (fx?.store.sync.refusals.list({ reason: 'proxy_refused' }).length ?? 0) >= 2, 'two refusals');
    const clients = fx.store.sync.refusals.list({ reason: 'proxy_refused' }).map((r) => r.client);
    expect(clients.sort()).toEqual(['127.0.0.1', '127.0.0.2']);
  });
});
