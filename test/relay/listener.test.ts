import net from 'node:net';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import type { Listener } from '../../src/relay/listener.js';
import type { Spool } from '../../src/relay/spool.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener } from '../helpers/listener.js';
import { connectRaw } from '../helpers/smtp-client.js';

let fx: Fixture;
let listener: Listener;
let spool: Spool;
let port: number;
let smtpsPort: number;

async function startListener(env: Record<string, string> = {}, socketTimeoutMs?: number): Promise<void> {
  fx = createFixture(env);
  ({ listener, spool, port, smtpsPort } = await startTestListener(fx, { socketTimeoutMs }));
}

const client = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
/** Chunks of message bodies in the database. */
const storedBodies = (): number => (fx.store.db.prepare('SELECT count(*) AS n FROM message_bodies').get() as { n: number }).n;

describe('SMTP listener', () => {
  beforeEach(async () => {
    await startListener({ RELAY365_MAX_MESSAGE_SIZE: '64KB' });
    fx.store.sync.servers.add(plainServer());
  });
  afterEach(async () => {
    await listener.close();
    fx.cleanup();
  });

  it('answers 250 with the queue id only after the message is spooled and recorded', async () => {
    const raw = 'From: app@example.test\r\nTo: a@example.test\r\nSubject: Invoice 42\r\nMessage-ID: <m1@example.test>\r\n\r\nHello\r\n';
    const info = await client().sendMail({ envelope: { from: 'app@example.test', to: ['a@example.test', 'b@example.test'] }, raw });
    const id = /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-Z]+$/);
    const stored = (await spool.head(id, Infinity)).toString('utf8');
    expect(stored.startsWith('Received: from ')).toBe(true);
    expect(stored).toMatch(/by \S+ \(relay365\) with ESMTP id [0-9A-Z]+;\r\n\t\w{3}, \d{2} \w{3} \d{4} [\d:]{8} \+0000\r\n/);
    expect(stored.endsWith(raw)).toBe(true);
    const message = fx.store.sync.queue.get(id);
    expect(message).toMatchObject({
      status: 'queued',
      mailFrom: 'app@example.test',
      subject: 'Invoice 42',
      headerMessageId: '<m1@example.test>',
      size: Buffer.byteLength(raw),
    });
    expect(fx.store.sync.queue.recipients(id).map((r) => r.address)).toEqual(['a@example.test', 'b@example.test']);
  });

  it('answers 451 4.3.0, never a permanent refusal, when the database cannot answer a check', async () => {
    const c = await connectRaw(port);
    await c.command('EHLO client.test');
    // The store goes away mid-session (a database server that stopped): routing the sender needs it.
    fx.store.db.close();
    expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^451 4\.3\.0 Temporary local problem; try again later$/);
    expect(await c.command('QUIT')).toMatch(/^221 /);
  });

  it('advertises size, 8BITMIME, SMTPUTF8, PIPELINING, ENHANCEDSTATUSCODES and STARTTLS, and AUTH only after STARTTLS', async () => {
    const c = await connectRaw(port);
    const ehlo = await c.command('EHLO client.test');
    for (const ext of ['SIZE 64000', '8BITMIME', 'SMTPUTF8', 'PIPELINING', 'ENHANCEDSTATUSCODES', 'STARTTLS']) expect(ehlo).toContain(ext);
    expect(ehlo).not.toContain('AUTH');
    expect(await c.command('AUTH PLAIN AGFiYwBkZWY=')).toMatch(/^538 5\.7\.0 Error: Must issue a STARTTLS command first/);
    c.close();
  });

  it('refuses an oversize message with 552 5.3.4 and keeps nothing', async () => {
    const big = `Subject: big\r\n\r\n${'x'.repeat(70_000)}\r\n`;
    await expect(client().sendMail({ envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw: big })).rejects.toMatchObject({
      responseCode: 552,
    });
    expect(fx.store.sync.queue.list()).toHaveLength(0);
    expect(storedBodies()).toBe(0);
  });

  it('answers garbage with 500/501 and keeps serving', async () => {
    const c = await connectRaw(port);
    expect(await c.command('EHLO client.test')).toMatch(/^250/);
    expect(await c.command('FROBNICATE now')).toMatch(/^500/);
    expect(await c.command(`X${'A'.repeat(5000)}`)).toMatch(/^5\d\d/);
    expect(await c.command('MAIL FROM:<not an address>')).toMatch(/^501/);
    expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<no-at-sign>')).toMatch(/^501 5\.\d\.\d /);
    expect(await c.command('RCPT TO:<a b@example.test>')).toMatch(/^501 5\.\d\.\d /);
    expect(await c.command('RCPT TO:<ok@example.test>')).toMatch(/^250/);
    c.close();
    const info = await client().sendMail({
      envelope: { from: 'a@example.test', to: ['b@example.test'] },
      raw: 'Subject: still here\r\n\r\nx\r\n',
    });
    expect(info.response).toMatch(/^250/);
  });

  it('answers the 501st recipient with 452 4.5.3', async () => {
    const c = await connectRaw(port);
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<app@example.test>');
    for (let i = 0; i < 500; i++) c.write(`RCPT TO:<r${i}@example.test>\r\n`);
    for (let i = 0; i < 500; i++) expect(await c.reply()).toMatch(/^250/);
    expect(await c.command('RCPT TO:<one-too-many@example.test>')).toMatch(/^452 4\.5\.3/);
    c.close();
  });

  it('keeps nothing when the client drops the connection mid-DATA', async () => {
    // A limit above a chunk, so part of the message is stored before the client goes.
    await listener.close();
    fx.cleanup();
    await startListener({ RELAY365_MAX_MESSAGE_SIZE: '10MB' });
    fx.store.sync.servers.add(plainServer());
    const c = await connectRaw(port);
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<app@example.test>');
    await c.command('RCPT TO:<b@example.test>');
    expect(await c.command('DATA')).toMatch(/^354/);
    // More than a chunk: part of the message is in the database when the client goes.
    await new Promise<void>((resolve) => c.socket.write(`Subject: cut\r\n\r\n${'partial line\r\n'.repeat(40_000)}`, () => resolve()));
    for (let i = 0; i < 100 && storedBodies() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(storedBodies()).toBeGreaterThan(0);
    c.destroy();
    // The stored chunks disappear once smtp-server has torn the stream down.
    for (let i = 0; i < 100 && storedBodies() > 0; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(storedBodies()).toBe(0);
    expect(fx.store.sync.queue.list()).toHaveLength(0);
  });
});

describe('SMTP listener without an email server', () => {
  beforeEach(() => startListener());
  afterEach(async () => {
    await listener.close();
    fx.cleanup();
  });

  it('asks clients to come back later with 451 4.3.0', async () => {
    await expect(
      client().sendMail({ envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw: 'Subject: x\r\n\r\nx\r\n' }),
    ).rejects.toMatchObject({
      responseCode: 451,
      response: expect.stringContaining('4.3.0 relay365 has no email server configured'),
    });
    expect(storedBodies()).toBe(0);
    expect(fx.store.sync.queue.list()).toHaveLength(0);
  });
});

describe('SMTP listener with a certificate', () => {
  const certs = path.resolve('test/emulator/certs');
  beforeEach(async () => {
    await startListener({
      RELAY365_TLS_CERT_FILE: path.join(certs, 'localhost.pem'),
      RELAY365_TLS_KEY_FILE: path.join(certs, 'localhost-key.pem'),
      RELAY365_SMTPS_LISTEN: '127.0.0.1:0',
    });
    fx.store.sync.servers.add(plainServer());
  });
  afterEach(async () => {
    await listener.close();
    fx.cleanup();
  });

  it('offers STARTTLS and accepts mail over it', async () => {
    const c = await connectRaw(port);
    expect(await c.command('EHLO client.test')).toContain('STARTTLS');
    c.close();
    const secure = nodemailer.createTransport({ host: 'localhost', port, secure: false, requireTLS: true });
    const info = await secure.sendMail({ envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw: 'Subject: tls\r\n\r\nx\r\n' });
    const id = /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
    expect((await spool.head(id, Infinity)).toString('utf8')).toMatch(/with ESMTPS id /);
  });

  it('accepts mail on the implicit-TLS listener', async () => {
    const implicit = nodemailer.createTransport({ host: 'localhost', port: smtpsPort, secure: true });
    const info = await implicit.sendMail({
      envelope: { from: 'a@example.test', to: ['b@example.test'] },
      raw: 'Subject: smtps\r\n\r\nx\r\n',
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
  });
});

describe('SMTP listener with idle clients', () => {
  beforeEach(() => startListener({}, 300));
  afterEach(async () => {
    await listener.close();
    fx.cleanup();
  });

  it('disconnects a client that stops talking, with 421, and keeps serving others', async () => {
    const idle = await connectRaw(port);
    expect(await idle.command('EHLO idle.test')).toMatch(/^250/);
    // smtp-server's own socket timeout (a libuv timer, not fakeable): wait for its reply.
    expect(await idle.reply()).toMatch(/^421 /);
    const other = await connectRaw(port);
    expect(await other.command('EHLO other.test')).toMatch(/^250/);
    other.close();
  });
});

/** Listens on a loopback port (0: any free one); rejects with the bind error. */
function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port;
const release = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('SMTP listener on a busy port', () => {
  afterEach(() => fx.cleanup());

  it('fails start-up naming RELAY365_SMTPS_LISTEN and its address, and closes the plain listener it opened', async () => {
    const busy = await occupy(0);
    const busyPort = portOf(busy);
    const probe = await occupy(0);
    const smtpPort = portOf(probe);
    await release(probe);
    fx = createFixture({ RELAY365_SMTP_LISTEN: `127.0.0.1:${smtpPort}`, RELAY365_SMTPS_LISTEN: `127.0.0.1:${busyPort}` });
    const error: unknown = await startTestListener(fx).catch((err: unknown) => err);
    await release(busy);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `RELAY365_SMTPS_LISTEN="127.0.0.1:${busyPort}" is not valid: a free address (another program listens there) (EADDRINUSE)`,
    );
    // Nothing is left listening: the plain port can be bound again.
    await release(await occupy(smtpPort));
  });
});
