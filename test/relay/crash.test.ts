/**
 * Durability and memory, with relay365 as a real child process, on each store
 * engine: killed with SIGKILL mid-stream it loses nothing it answered 250 for
 * and keeps nothing of what it did not, and a 30 MB message streams through
 * without the process holding it in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, SESSION_TIMES } from '../../src/store/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { ENGINES, freshDatabase, type Engine } from '../helpers/engines.js';
import { SEED, startEmulator, type Emulator, type ReceivedMessage } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';

const KEY = 'cd'.repeat(32);
const MB = 1024 * 1024;

let emu: Emulator;
let dir: string;
let relays: RelayProcess[];
/** The PostgreSQL database of the test, or null with SQLite. */
let database: { url: string; drop(): Promise<void> } | null;

const box = createSecretBox(Buffer.from(KEY, 'hex'));

/** Opens the test's store on `engine` (the relay's own, from outside the process). */
async function openStore(engine: Engine) {
  if (engine === 'sqlite') return createStore(dir, box);
  database ??= await freshDatabase();
  return createPostgresStore({ url: database.url, dataDir: dir, box, sessionTimes: SESSION_TIMES, applicationName: 'relay365 test' });
}

/** Messages whose chunks the database holds though they wait no more (or never did): removing them counts them. */
async function orphanBodies(engine: Engine): Promise<number> {
  const store = await openStore(engine);
  try {
    return await store.bodies.removeOrphans(Date.now());
  } finally {
    await store.close();
  }
}

/** A store on `engine` with the emulator's email server. */
async function setUp(engine: Engine): Promise<void> {
  const store = await openStore(engine);
  await store.servers.add(emulatorServer(emu));
  await store.close();
}

beforeEach(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-crash-'));
  relays = [];
  database = null;
});

afterEach(async () => {
  await Promise.all(relays.map((r) => r.kill()));
  await emu.close();
  await database?.drop();
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
    ...(database ? { RELAY365_DATABASE_URL: database.url } : {}),
  });
  relays.push(relay);
  return relay;
}

const queueIdOf = (m: ReceivedMessage): string | undefined => / id ([0-9A-Z]+)/.exec(m.raw.subarray(0, 600).toString('latin1'))?.[1];

describe.each(ENGINES)('relay365 process (%s)', (engine) => {
  beforeEach(() => setUp(engine));

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
    const killing: Promise<void>[] = [];
    const sends = Array.from({ length: 500 }, (_, i) =>
      client
        .sendMail({
          envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
          raw: `From: ${SEED.mailbox}\r\nSubject: crash ${i}\r\n\r\nbody ${i}\r\n`,
        })
        .then((info) => {
          acked.add(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string);
          if (acked.size === 200) killing.push(first.kill());
        })
        .catch(() => undefined),
    );
    await Promise.all(sends);
    client.close();
    await Promise.all(killing);
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

  it('delivers every multi-chunk message it answered 250 for after a SIGKILL mid-DATA, and keeps no chunk of the others', async () => {
    const first = await start();
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: first.smtpPort, ignoreTLS: true, pool: true, maxConnections: 5 });
    // About 600 KB each: three chunks, two of them stored while DATA streams.
    const raw = (i: number): string => `From: ${SEED.mailbox}\r\nSubject: chunks ${i}\r\n\r\n${`${i} ${'y'.repeat(76)}\r\n`.repeat(7_500)}`;
    const acked = new Map<string, string>();
    const killing: Promise<void>[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client
          .sendMail({ envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] }, raw: raw(i) })
          .then((info) => {
            acked.set(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string, raw(i));
            if (acked.size === 10) killing.push(first.kill());
          })
          .catch(() => undefined),
      ),
    );
    client.close();
    await Promise.all(killing);
    expect(acked.size).toBeGreaterThanOrEqual(10);

    await start();
    const deadline = Date.now() + 60_000;
    const delivered = (): Map<string | undefined, Buffer> => new Map(emu.exchange.messages.map((m) => [queueIdOf(m), m.raw]));
    while ([...acked.keys()].some((id) => !delivered().has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const [id, sent] of acked) expect(delivered().get(id)?.subarray(-sent.length).toString()).toBe(sent);
    // The messages cut mid-DATA left chunks in the database; the restart removed them.
    expect(await orphanBodies(engine)).toBe(0);
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
