/**
 * Durability and memory, with relay365 as a real child process: killed with
 * SIGKILL mid-stream it loses nothing it answered 250 for, and a 30 MB message
 * streams through without the process holding it in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator, type ReceivedMessage } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';

const KEY = 'cd'.repeat(32);
const MB = 1024 * 1024;

let emu: Emulator;
let dir: string;
let relays: RelayProcess[];

beforeEach(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-crash-'));
  const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
  store.servers.add(emulatorServer(emu));
  store.close();
  relays = [];
});

afterEach(async () => {
  await Promise.all(relays.map((r) => r.kill()));
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<RelayProcess> {
  const relay = await startRelay({
    ...process.env,
    RELAY365_DATA_DIR: dir,
    RELAY365_SECRET_KEY: KEY,
    RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
    RELAY365_LOG_LEVEL: 'error',
    RELAY365_MAX_MESSAGE_SIZE: '40MB',
  });
  relays.push(relay);
  return relay;
}

const queueIdOf = (m: ReceivedMessage): string | undefined => / id ([0-9A-Z]+)/.exec(m.raw.subarray(0, 600).toString('latin1'))?.[1];

describe('relay365 process', () => {
  it('delivers every message it answered 250 for after a SIGKILL and a restart', async () => {
    const first = await start();
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: first.smtpPort,
      ignoreTLS: true,
      pool: true,
      maxConnections: 10,
      maxMessages: Infinity,
    });
    const acked = new Set<string>();
    let killing: Promise<void> | null = null;
    const sends = Array.from({ length: 500 }, (_, i) =>
      client
        .sendMail({
          envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
          raw: `From: ${SEED.mailbox}\r\nSubject: crash ${i}\r\n\r\nbody ${i}\r\n`,
        })
        .then((info) => {
          acked.add(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string);
          if (acked.size === 200) killing = first.kill();
        })
        .catch(() => undefined),
    );
    await Promise.all(sends);
    client.close();
    await killing;
    expect(acked.size).toBeGreaterThanOrEqual(200);

    await start();
    const deadline = Date.now() + 60_000;
    const delivered = (): Set<string> => new Set(emu.exchange.messages.map(queueIdOf).filter((id): id is string => id !== undefined));
    while ([...acked].some((id) => !delivered().has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const missing = [...acked].filter((id) => !delivered().has(id));
    expect(missing).toEqual([]);
    // At-least-once: only messages in flight at the crash (at most Max Connections) may arrive twice.
    const ids = emu.exchange.messages.map(queueIdOf);
    expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(3);
  });

  it('delivers every message it answered 250 for when a power cut also undid the last commits of its queue', async () => {
    // One delivery a minute: what is accepted stays queued until the power cut.
    const setup = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    const serverId = setup.servers.list()[0]?.id as number;
    setup.servers.update(serverId, { messagesPerMinute: 1 });
    setup.close();
    const first = await start();
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: first.smtpPort, ignoreTLS: true, pool: true, maxConnections: 5 });
    const acked: string[] = [];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client
          .sendMail({
            envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test', 'bob@fabrikam.test'] },
            raw: `From: ${SEED.mailbox}\r\nSubject: cut ${i}\r\n\r\nbody ${i}\r\n`,
          })
          .then((info) => acked.push(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string)),
      ),
    );
    client.close();
    await first.kill();

    // The store commits without its own fsync; a power cut may undo the newest records. Undo 40.
    const undone = acked.slice(-40);
    const cut = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    const marks = undone.map(() => '?').join(', ');
    for (const table of ['events', 'recipients']) cut.db.prepare(`DELETE FROM ${table} WHERE message_id IN (${marks})`).run(...undone);
    cut.db.prepare(`DELETE FROM messages WHERE id IN (${marks})`).run(...undone);
    expect(cut.queue.get(undone[0] as string)).toBeUndefined();
    cut.servers.update(serverId, { messagesPerMinute: 100_000 });
    cut.close();

    await start();
    // Every acknowledged message, not just as many messages: the one in flight at the kill may come twice.
    const delivered = (): Set<string | undefined> => new Set(emu.exchange.messages.map(queueIdOf));
    const deadline = Date.now() + 30_000;
    while (acked.some((id) => !delivered().has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

    const ids = emu.exchange.messages.map(queueIdOf);
    expect([...acked].sort()).toEqual([...new Set(ids)].sort());
    expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(1);
    for (const message of emu.exchange.messages) expect(message.rcptTo).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test']);
  });

  it('streams 30 MB messages through without its memory growing with them', async () => {
    const relay = await start();
    const line = `${'0123456789'.repeat(7)}abcdef\r\n`;
    const body = line.repeat(Math.ceil((30 * 1000 * 1000) / line.length));
    const raw = Buffer.from(`From: ${SEED.mailbox}\r\nTo: alice@fabrikam.test\r\nSubject: big\r\n\r\n${body}`);
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true });
    const send = () => client.sendMail({ envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] }, raw });
    // The first message settles the process's one-off growth: V8 collects dead buffers only
    // after some tens of MB of them, whatever the message size. The second shows what a message costs.
    const start0 = relay.memory().peak;
    await send();
    await emu.exchange.waitForMessages(1, 60_000);
    const warm = relay.memory().peak;
    await send();
    const received = await emu.exchange.waitForMessages(2, 60_000);
    const grown = relay.memory().peak - warm;
    console.log(
      `30 MB messages: peak RSS ${(start0 / MB).toFixed(0)} -> ${(warm / MB).toFixed(0)} MiB after the first, +${(grown / MB).toFixed(1)} MiB for the second`,
    );
    for (const message of received) {
      // Buffer.equals: a deep toEqual over 30 million elements would exhaust the test's own heap.
      expect(message.raw.subarray(message.raw.length - raw.length).equals(raw)).toBe(true);
    }
    // Holding a message whole would cost at least its 30 MB; GC timing varies by a few MB.
    expect(grown).toBeLessThan(15 * MB);
  });
});
