/**
 * Disk use at the listener: an oversize message takes no more of the database
 * than the limit, a nearly full data folder refuses new mail at MAIL FROM
 * until space returns, and a write that fails mid-message leaves nothing behind.
 */
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpoolBodies } from '../../src/relay/spool.js';
import type { BodyChunk } from '../../src/store/bodies.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener, type TestListenerOptions } from '../helpers/listener.js';
import { connectRaw, type RawClient } from '../helpers/smtp-client.js';

const MB = 1024 * 1024;

let fx: Fixture;
let relay: TestListener;

async function start(env: Record<string, string>, options: TestListenerOptions = {}): Promise<void> {
  fx = createFixture(env);
  fx.store.sync.servers.add(plainServer());
  relay = await startTestListener(fx, options);
}

afterEach(async () => {
  await relay.close();
  fx.cleanup();
});

/** Bytes of message bodies in the database. */
const storedBytes = (): number =>
  (fx.store.db.prepare('SELECT coalesce(sum(length(bytes)), 0) AS n FROM message_bodies').get() as { n: number }).n;

/** The store's bodies, with `append` replaced. */
const bodiesWith = (append: (chunk: BodyChunk) => Promise<void>): SpoolBodies => ({
  append,
  chunk: (id, seq) => fx.store.bodies.chunk(id, seq),
  remove: (id) => fx.store.bodies.remove(id),
});

/** Opens a transaction on a raw connection, up to the 354. */
async function startData(c: RawClient): Promise<void> {
  expect(await c.command('EHLO client.test')).toMatch(/^250/);
  expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
  expect(await c.command('RCPT TO:<b@example.test>')).toMatch(/^250/);
  expect(await c.command('DATA')).toMatch(/^354/);
}

/** Streams a message of about `total` bytes in 64 kB chunks, calling `sample` after each one has left the socket. */
async function streamBody(c: RawClient, total: number, sample: () => void = () => undefined): Promise<void> {
  c.write('Subject: big\r\n\r\n');
  const chunk = Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(64), 'latin1');
  for (let sent = 0; sent < total; sent += chunk.length) {
    await new Promise<void>((resolve, reject) => c.socket.write(chunk, (err) => (err ? reject(err) : resolve())));
    sample();
  }
}

const send = (subject: string) =>
  nodemailer
    .createTransport({ host: '127.0.0.1', port: relay.port, secure: false, ignoreTLS: true })
    .sendMail({ envelope: { from: 'app@example.test', to: ['b@example.test'] }, raw: `Subject: ${subject}\r\n\r\nx\r\n` });

describe('an oversize message', () => {
  it('puts no more than the limit on disk while a 40 MB message streams against a 1 MB limit, then answers 552 5.3.4', async () => {
    // Counts every byte handed to the database for message bodies.
    let written = 0;
    const bodies = bodiesWith(async (chunk) => {
      written += chunk.bytes.length;
      await fx.store.bodies.append(chunk);
    });
    await start({ RELAY365_MAX_MESSAGE_SIZE: '1MB' }, { bodies });
    const c = await connectRaw(relay.port);
    await startData(c);
    let peak = 0;
    await streamBody(c, 40 * MB, () => (peak = Math.max(peak, storedBytes())));
    expect(await c.command('\r\n.')).toMatch(/^552 5\.3\.4 /);
    // The limit at most (the write that would pass it is not made), sampled and counted.
    expect(peak).toBeLessThanOrEqual(MB);
    expect(written).toBeLessThanOrEqual(MB);
    expect(storedBytes()).toBe(0);
    expect(fx.store.sync.queue.list()).toHaveLength(0);
    expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
    c.close();
  });
});

describe('a nearly full data folder', () => {
  it('answers MAIL FROM with 452 4.3.1 below RELAY365_MIN_FREE_SPACE and accepts again once space returns', async () => {
    let clock = 1_700_000_000_000;
    let free = 50e6;
    let probes = 0;
    const freeSpace = async (): Promise<number> => {
      probes++;
      return free;
    };
    await start({ RELAY365_MIN_FREE_SPACE: '100MB' }, { now: () => clock, freeSpace });
    const c = await connectRaw(relay.port);
    expect(await c.command('EHLO client.test')).toMatch(/^250/);
    expect(await c.command('MAIL FROM:<app@example.test>')).toBe('452 4.3.1 Insufficient system storage');
    free = 5e9;
    // The answer is kept for a second: no statfs per MAIL FROM.
    expect(await c.command('MAIL FROM:<app@example.test>')).toBe('452 4.3.1 Insufficient system storage');
    expect(probes).toBe(1);
    clock += 1_000;
    expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<b@example.test>')).toMatch(/^250/);
    expect(await c.command('DATA')).toMatch(/^354/);
    expect(await c.command('Subject: space again\r\n\r\nx\r\n.')).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(probes).toBe(2);
    c.close();
    expect(fx.store.sync.queue.list().map((m) => m.subject)).toEqual(['space again']);
  });

  it('accepts mail when the file system cannot say how much space is free', async () => {
    await start({}, { freeSpace: () => Promise.reject(new Error('ENOSYS: statfs not supported')) });
    expect((await send('unknown space')).response).toMatch(/^250 /);
  });

  it('does not look at the disk when RELAY365_MIN_FREE_SPACE is 0', async () => {
    let probes = 0;
    await start({ RELAY365_MIN_FREE_SPACE: '0' }, { freeSpace: async () => (probes++, 0) });
    expect((await send('no check')).response).toMatch(/^250 /);
    expect(probes).toBe(0);
  });
});

describe('a write that fails mid-message', () => {
  it('answers 451 after the final dot and leaves nothing in the database or the queue', async () => {
    // The first message's writes fail with SQLITE_FULL after 512 KiB, as a full disk would; later messages' work.
    let first: string | null = null;
    let written = 0;
    const bodies = bodiesWith(async (chunk) => {
      first ??= chunk.messageId;
      if (chunk.messageId === first && (written += chunk.bytes.length) > 512 * 1024) {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }
      await fx.store.bodies.append(chunk);
    });
    await start({ RELAY365_MAX_MESSAGE_SIZE: '10MB' }, { bodies });
    const c = await connectRaw(relay.port);
    await startData(c);
    // RFC 5321 4.1.1.4: the reply comes after the final dot, not while the client still sends.
    let early = '';
    const listen = (data: Buffer): void => void (early += data.toString());
    c.socket.on('data', listen);
    await streamBody(c, 8 * MB);
    c.socket.off('data', listen);
    expect(early).toBe('');
    expect(await c.command('\r\n.')).toMatch(/^451 4\.3\.0 /);
    expect(storedBytes()).toBe(0);
    expect(fx.store.sync.queue.list()).toHaveLength(0);
    // The session and the relay carry on.
    expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
    c.close();
    expect((await send('after the failure')).response).toMatch(/^250 /);
    expect(fx.store.sync.queue.list()).toHaveLength(1);
  });
});
