/**
 * Graceful stop, with relay365 as a real child process delivering to the
 * Microsoft 365 emulator: SIGTERM lets SMTP transactions and deliveries in
 * flight finish while new connections get 421 4.3.2, the deadline or a second
 * signal ends it at once, and every message that got a 250 is delivered after
 * a restart.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator, type ReceivedMessage } from '../emulator/index.js';
import { listenOnLoopback, type LoopbackListener } from '../emulator/loopback.js';
import { emulatorServer } from '../helpers/office365.js';
import { freePort, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { connectRaw, type RawClient } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'ef'.repeat(32);
const SHUTTING_DOWN = /^421 4\.3\.2 /;
/** Start-up, scheduling and exit on a shared two-core machine: what a stop may take beyond its deadline. */
const MARGIN_MS = 3_000;

/**
 * A loopback TCP proxy in front of the emulator's Exchange port. While frozen it accepts
 * connections and never answers, so a delivery through it stays in flight.
 */
interface Proxy {
  port: number;
  connections: number;
  frozen: boolean;
  close(): Promise<void>;
}

async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((socket) => {
    proxy.connections++;
    track(socket);
    if (proxy.frozen) return;
    const upstream = net.connect(target, '127.0.0.1');
    track(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
  });
  const listener: LoopbackListener = await listenOnLoopback(server);
  const proxy: Proxy = {
    port: listener.port,
    connections: 0,
    frozen: false,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise((resolve) => server.close(resolve)), listener.closeCompanion()]);
    },
  };
  return proxy;
}

let emu: Emulator;
let proxy: Proxy;
let dir: string;
let relays: RelayProcess[];

beforeEach(async () => {
  emu = await startEmulator();
  proxy = await startProxy(emu.smtpPort);
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-stop-'));
  const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  store.sync.servers.add(emulatorServer(emu, { port: proxy.port }));
  await store.close();
  relays = [];
});

afterEach(async () => {
  await Promise.all(relays.map((r) => r.kill()));
  await proxy.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the relay with `RELAY365_SHUTDOWN_TIMEOUT=timeout`; resolves once its admin panel answers (signals are handled from then). */
async function start(timeout = '5s'): Promise<RelayProcess> {
  const adminPort = await freePort();
  const relay = await startRelay({
    ...process.env,
    RELAY365_DATA_DIR: dir,
    RELAY365_SECRET_KEY: KEY,
    RELAY365_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    RELAY365_LOG_LEVEL: 'error',
    RELAY365_SHUTDOWN_TIMEOUT: timeout,
  });
  relays.push(relay);
  for (let i = 0; ; i++) {
    const answered = await fetch(`http://127.0.0.1:${adminPort}/`, { redirect: 'manual' }).then(
      () => true,
      () => false,
    );
    if (answered) break;
    if (i > 100) throw new Error('the admin panel did not answer within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return relay;
}

/** Resolves with the exit code and the moment of the exit; fails after `timeoutMs`. */
function exitOf(relay: RelayProcess, timeoutMs = 60_000): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve, reject) => {
    if (relay.child.exitCode !== null) return resolve({ code: relay.child.exitCode, at: Date.now() });
    const timer = setTimeout(() => reject(new Error(`relay did not exit within ${timeoutMs} ms`)), timeoutMs);
    relay.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, at: Date.now() });
    });
  });
}

/** The next reply on `c`, or null when the connection closes first (bounded by the client's reply timeout). */
function replyOrClose(c: RawClient): Promise<string | null> {
  return new Promise((resolve) => {
    if (c.socket.closed) return resolve(null);
    c.socket.once('close', () => resolve(null));
    c.reply().then(resolve, () => resolve(null));
  });
}

/** A session with MAIL FROM and RCPT TO accepted: inside a transaction. */
async function inTransaction(port: number): Promise<RawClient> {
  const c = await connectRaw(port);
  await c.command('EHLO client.test');
  expect(await c.command(`MAIL FROM:<${SEED.mailbox}>`)).toMatch(/^250/);
  expect(await c.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250/);
  return c;
}

const queueIdOf = (m: ReceivedMessage): string | undefined => / id ([0-9A-Z]+)/.exec(m.raw.subarray(0, 600).toString('latin1'))?.[1];
const queuedAs = (reply: string): string => /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;
const deliveredIds = (): string[] => emu.exchange.messages.map(queueIdOf).filter((id): id is string => id !== undefined);

/** Waits until every id in `ids` arrived at the emulator. */
async function waitDelivered(ids: Iterable<string>, timeoutMs = 60_000): Promise<void> {
  const wanted = [...ids];
  await waitFor(
    () => {
      const delivered = new Set(deliveredIds());
      return wanted.every((id) => delivered.has(id));
    },
    `${wanted.length} messages at the emulator`,
    timeoutMs,
  );
}

/** The queue as the stopped relay left it. */
async function queueCounts(): Promise<Record<string, number>> {
  const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  try {
    return store.sync.queue.countsByStatus();
  } finally {
    await store.close();
  }
}

// Each test starts the relay twice; on a loaded machine a start alone can take ten seconds.
describe('relay365 graceful stop', { timeout: 180_000 }, () => {
  it('delivers every message it answered 250 for when SIGTERM comes during a burst of 500, and exits within the deadline', async () => {
    const relay = await start('5s');
    const exited = exitOf(relay, 60_000);
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.smtpPort,
      ignoreTLS: true,
      pool: true,
      maxConnections: 10,
      maxMessages: Infinity,
    });
    const acked = new Set<string>();
    const refused: { code?: string; responseCode?: number; response?: string }[] = [];
    let signalledAt = 0;
    const sends = Array.from({ length: 500 }, (_, i) =>
      client
        .sendMail({
          envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
          raw: `From: ${SEED.mailbox}\r\nSubject: stop ${i}\r\n\r\nbody ${i}\r\n`,
        })
        .then(
          (info) => {
            acked.add(queuedAs(info.response));
            if (acked.size === 150 && signalledAt === 0) {
              signalledAt = Date.now();
              relay.child.kill('SIGTERM');
            }
          },
          (err: { code?: string; responseCode?: number; response?: string }) => void refused.push(err),
        ),
    );
    const { code, at } = await exited;
    await Promise.race([Promise.all(sends), new Promise((resolve) => setTimeout(resolve, 30_000))]);
    client.close();

    expect(signalledAt).toBeGreaterThan(0);
    const stopMs = at - signalledAt;
    const replies = refused.map((e) => (e.responseCode ? `${e.responseCode}` : (e.code ?? 'unknown')));
    const tally = Object.fromEntries([...new Set(replies)].map((r) => [r, replies.filter((x) => x === r).length]));
    console.log(`SIGTERM after 150 acks: ${acked.size} accepted, refused ${JSON.stringify(tally)}, exit ${code} after ${stopMs} ms`);
    // Everything that got a 250 finished; nothing was cut short.
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(5_000 + MARGIN_MS);
    expect(acked.size + refused.length).toBe(500);
    expect(acked.size).toBeLessThan(500);
    // A client was told 421 4.3.2 or saw its connection closed: nothing else.
    for (const err of refused) {
      if (err.responseCode !== undefined) expect(err.response).toMatch(SHUTTING_DOWN);
      else expect(['ECONNECTION', 'ESOCKET']).toContain(err.code);
    }
    // The database was closed cleanly (its WAL checkpointed), and no delivery was left half done.
    const wal = path.join(dir, 'relay365.db-wal');
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    expect((await queueCounts()).sending).toBe(0);

    await start();
    await waitDelivered(acked);
    const ids = deliveredIds();
    // Deliveries in flight finished before the exit: none was sent twice.
    expect(ids.length - new Set(ids).size).toBe(0);
  });

  it('answers new connections with 421 4.3.2 during the drain and lets a transaction in progress finish', async () => {
    const relay = await start('20s');
    const exited = exitOf(relay);
    const idle = await connectRaw(relay.smtpPort);
    await idle.command('EHLO client.test');
    const sending = await inTransaction(relay.smtpPort);
    const signalledAt = Date.now();
    relay.child.kill('SIGTERM');

    // The idle session is told at once; a new connection is refused with the same reply.
    expect(await idle.reply()).toMatch(SHUTTING_DOWN);
    const late = await connectRaw(relay.smtpPort);
    expect(late.greeting).toMatch(SHUTTING_DOWN);
    expect(relay.child.exitCode).toBeNull();

    expect(await sending.command('DATA')).toMatch(/^354/);
    const accepted = await sending.command(`From: ${SEED.mailbox}\r\nSubject: during the drain\r\n\r\nbody\r\n.`);
    expect(accepted).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(await replyOrClose(sending)).toMatch(SHUTTING_DOWN);

    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(20_000);
    expect((await queueCounts()).queued).toBe(1);
    await start();
    await waitDelivered([queuedAs(accepted)]);
  });

  it('ends at once on a second SIGTERM, telling a session mid-transaction 421 4.3.2', async () => {
    const relay = await start('60s');
    const exited = exitOf(relay);
    const idle = await connectRaw(relay.smtpPort);
    await idle.command('EHLO client.test');
    const stalled = await inTransaction(relay.smtpPort);
    relay.child.kill('SIGTERM');
    expect(await idle.reply()).toMatch(SHUTTING_DOWN);
    // The drain waits for the stalled transaction (it goes on); the second signal does not.
    expect(await stalled.command('NOOP')).toMatch(/^250/);
    expect(relay.child.exitCode).toBeNull();
    const secondAt = Date.now();
    relay.child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(at - secondAt).toBeLessThan(MARGIN_MS);
    // A session was cut short.
    expect(code).toBe(1);
    const reply = await replyOrClose(stalled);
    if (reply !== null) expect(reply).toMatch(SHUTTING_DOWN);
  });

  it('ends at the deadline with a delivery in flight and delivers it after a restart', async () => {
    proxy.frozen = true;
    const relay = await start('3s');
    const exited = exitOf(relay);
    const c = await inTransaction(relay.smtpPort);
    await c.command('DATA');
    const accepted = await c.command(`From: ${SEED.mailbox}\r\nSubject: stuck upstream\r\n\r\nbody\r\n.`);
    expect(accepted).toMatch(/^250 2\.0\.0 Ok: queued as /);
    await c.command('QUIT');
    // The delivery reached the upstream connection, which never answers.
    await waitFor(() => proxy.connections > 0, 'the delivery to connect upstream', 15_000);
    const signalledAt = Date.now();
    relay.child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(at - signalledAt).toBeGreaterThanOrEqual(3_000 - 100);
    expect(at - signalledAt).toBeLessThan(3_000 + MARGIN_MS);
    // A delivery was abandoned; the database was still closed cleanly.
    expect(code).toBe(1);
    expect((await queueCounts()).sending).toBe(1);

    proxy.frozen = false;
    await start();
    await waitDelivered([queuedAs(accepted)]);
  });
});
