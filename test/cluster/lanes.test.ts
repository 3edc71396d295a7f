/**
 * Two relay365 instances on one store share Microsoft's limits per mailbox:
 * one of them at a time delivers a mailbox's mail (whichever accepted it), so
 * the emulator never sees more than its 3 sessions; a Send Test Email on the
 * other instance gets the mailbox once the holder has nothing in flight; and
 * an instance that stops gives its mailboxes to the other. On both engines
 * (two SQLite handles on one file stand in for two instances there).
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { GENERATED_CERT_FILE, GENERATED_KEY_FILE } from '../../src/data-folder.js';
import { silentLogger } from '../../src/log.js';
import { MAX_QUEUE_LIFETIME_MS } from '../../src/relay/classify.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { queueRecord, type SpoolEnvelope } from '../../src/relay/spool.js';
import type { Store } from '../../src/store/index.js';
import { createSigningKey, SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { emulatorServer } from '../helpers/office365.js';
import { testMessage } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const CERTS = path.resolve('test/emulator/certs');

let signingKey: SigningKey;
let emu: Emulator | null = null;
let opened: EngineStore | null = null;
const relays: Relay[] = [];
const stores: Store[] = [];

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await opened?.cleanup();
  opened = null;
  await emu?.close();
  emu = null;
});

describe.each(ENGINES)('two instances on one store (%s)', (engine) => {
  /** The emulator, a server for its mailbox, and two started relays on one store: relay365 and relay-b. */
  const cluster = async (): Promise<{ a: Relay; b: Relay; serverId: number; store: Store }> => {
    emu = await startEmulator({ signingKey });
    opened = await openEngineStore(engine);
    copyFileSync(path.join(CERTS, 'localhost.pem'), path.join(opened.dir, GENERATED_CERT_FILE));
    copyFileSync(path.join(CERTS, 'localhost-key.pem'), path.join(opened.dir, GENERATED_KEY_FILE));
    const config = loadConfig({
      RELAY365_DATA_DIR: opened.dir,
      RELAY365_SMTP_LISTEN: '127.0.0.1:0',
      RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
      RELAY365_SECRET_KEY: 'ab'.repeat(32),
    });
    const { id } = await opened.store.servers.add(emulatorServer(emu));
    const other = await openAnotherInstance(opened, 'relay-b');
    stores.push(other);
    const [a, b] = [opened.store, other].map((store) => createRelay({ config, store, log: silentLogger, pollMs: 50 }));
    relays.push(a as Relay, b as Relay);
    return { a: a as Relay, b: b as Relay, serverId: id, store: opened.store };
  };
  const send = async (port: number, count: number, label: string): Promise<void> => {
    const client = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, pool: true, maxConnections: 4 });
    await Promise.all(
      Array.from({ length: count }, (_, n) =>
        client.sendMail({ envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] }, raw: testMessage(`${label} ${n}`) }),
      ),
    );
    client.close();
  };
  /** Queues a message from `mailbox` for server `serverId` on `relay`, as its listener does after the 250; its queue ID. */
  const enqueue = async (relay: Relay, store: Store, serverId: number, mailbox: string, subject: string): Promise<string> => {
    const id = `G${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
    const raw = `From: <${mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`;
    const envelope: SpoolEnvelope = {
      id,
      serverId,
      mailFrom: mailbox,
      recipients: ['alice@fabrikam.test'],
      clientAddress: '127.0.0.1',
      clientHelo: 'test',
      route: 'test',
      relayUser: null,
      receivedAt: Date.now(),
      expiresAt: Date.now() + MAX_QUEUE_LIFETIME_MS,
    };
    const body = await relay.spool.write(id, Buffer.alloc(0), Readable.from([Buffer.from(raw)]));
    await store.queue.insert([queueRecord(envelope, body)], [body.last]);
    await relay.scheduler.poke();
    return id;
  };
  const subjects = (): string[] => (emu as Emulator).exchange.messages.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())?.[1] ?? '');

  it('delivers a burst sent half to each once each, with never more than 3 sessions at the mailbox', async () => {
    const { a, b } = await cluster();
    const [portA, portB] = [(await a.start()).smtp.port, (await b.start()).smtp.port];
    await Promise.all([send(portA, 30, 'to a'), send(portB, 30, 'to b')]);
    await waitFor(() => subjects().length >= 60, 'all 60 delivered', 60_000);
    expect(new Set(subjects()).size).toBe(60);
    expect(subjects()).toHaveLength(60);
    expect(emu?.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
  });

  it('runs a Send Test Email on the instance that does not deliver for the mailbox, once the other lets go', async () => {
    const { a, b, serverId, store } = await cluster();
    const portA = (await a.start()).smtp.port;
    await b.start();
    // Whichever instance looked first took the mailbox with this mail, and keeps it afterwards.
    await send(portA, 3, 'first');
    await waitFor(() => subjects().length >= 3, 'the first mail delivered', 30_000);
    const { holder } = (await store.leases.list()).find((l) => l.name === `lane:mailbox:${SEED.mailbox.toLowerCase()}`) ?? {};
    const other = holder === 'relay365' ? b : a;
    const waits: string[] = [];
    const mail = { to: 'alice@fabrikam.test', subject: 'from b', body: 'Testing.' };
    const result = await other.sendTest(serverId, mail, (why) => waits.push(why));
    expect(result.ok).toBe(true);
    expect(waits).toEqual(["Waiting for Max Connections: another relay365 instance delivers this mailbox's mail."]);
    expect(subjects()).toContain('from b');
  });

  it('sends the mailboxes of one Graph app through one instance: never more than its 4 requests at once', async () => {
    const { a, b, serverId, store } = await cluster();
    const emulator = emu as Emulator;
    const graph = { sendVia: 'graph' as const, maxConnections: 10 };
    await store.servers.update(serverId, { ...emulatorServer(emulator), ...graph });
    const mailboxes = [SEED.mailbox, 'printers@contoso.test', 'scanners@contoso.test'];
    const ids = [serverId];
    for (const mailbox of mailboxes.slice(1)) {
      emulator.directory.addUser(SEED.tenantId, { address: mailbox, shared: true });
      ids.push((await store.servers.add(emulatorServer(emulator, { name: mailbox, mailbox, ...graph }))).id);
    }
    await Promise.all([a.start(), b.start()]);
    // Each instance queues mail of every mailbox, as its listener would after its 250.
    const queued: string[] = [];
    for (let n = 0; n < 8; n++) {
      for (const [i, id] of ids.entries()) {
        const relay = n % 2 === 0 ? a : b;
        queued.push(await enqueue(relay, n % 2 === 0 ? store : (stores[0] as Store), id, mailboxes[i] as string, `graph ${i}.${n}`));
      }
    }
    await waitFor(() => emulator.graph.messages.length >= queued.length, 'all delivered through Graph', 60_000);
    expect(emulator.graph.peakConcurrencyByKey.get(SEED.clientId)).toBeLessThanOrEqual(4);
    const holders = new Set((await store.leases.list()).filter((l) => l.heldUntil > Date.now()).map((l) => l.holder));
    expect(holders.size).toBe(1);
  });

  it('hands the mailbox to the other instance when the one delivering stops', async () => {
    const { a, b } = await cluster();
    const portA = (await a.start()).smtp.port;
    const portB = (await b.start()).smtp.port;
    await send(portA, 2, 'before');
    await waitFor(() => subjects().length >= 2, 'the first mail delivered', 30_000);
    await a.stop();
    relays.splice(relays.indexOf(a), 1);
    await send(portB, 2, 'after');
    await waitFor(() => subjects().length >= 4, 'the mail after the stop delivered', 30_000);
  });
});
