/**
 * The SMTP listener's graceful stop: while it drains it keeps listening and
 * answers `421 4.3.2`, and a transaction in progress still gets its 250.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Listener } from '../../src/relay/listener.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener } from '../helpers/listener.js';
import { connectRaw, type RawClient } from '../helpers/smtp-client.js';

const SHUTTING_DOWN = /^421 4\.3\.2 /;

let fx: Fixture;
let listener: Listener;
let port: number;

beforeEach(async () => {
  fx = createFixture();
  fx.store.sync.servers.add(plainServer());
  ({ listener, port } = await startTestListener(fx));
});

afterEach(async () => {
  await listener.close();
  fx.cleanup();
});

/** A session with MAIL FROM and RCPT TO accepted: inside a transaction. */
async function inTransaction(): Promise<RawClient> {
  const c = await connectRaw(port);
  await c.command('EHLO client.test');
  expect(await c.command('MAIL FROM:<app@example.test>')).toMatch(/^250/);
  expect(await c.command('RCPT TO:<a@example.test>')).toMatch(/^250/);
  return c;
}

/** Resolves with whether the socket closed within `ms`. */
const closedWithin = (c: RawClient, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (c.socket.closed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    c.socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

const queueId = (reply: string): string => /queued as ([0-9A-Z]+)/.exec(reply)?.[1] as string;

describe('SMTP listener draining', () => {
  it('answers new connections and ends idle sessions with 421 4.3.2 while it still listens', async () => {
    const idle = await connectRaw(port);
    await idle.command('EHLO client.test');
    const drained = listener.drain();
    expect(await idle.reply()).toMatch(SHUTTING_DOWN);
    expect(await closedWithin(idle, 5_000)).toBe(true);
    const late = await connectRaw(port);
    expect(late.greeting).toMatch(SHUTTING_DOWN);
    expect(await closedWithin(late, 5_000)).toBe(true);
    await drained;
    expect(listener.sessions()).toBe(0);
  });

  it('lets a transaction in progress finish with its 250 once the message is durable, then ends the session', async () => {
    const beforeData = await inTransaction();
    const midData = await inTransaction();
    expect(await midData.command('DATA')).toMatch(/^354/);
    midData.write('From: app@example.test\r\nSubject: half\r\n\r\nfirst half\r\n');
    let drainedYet = false;
    const drained = listener.drain().then(() => (drainedYet = true));

    expect(await beforeData.command('DATA')).toMatch(/^354/);
    // The next command is pipelined behind the message: it is refused, the message is not.
    beforeData.write('From: app@example.test\r\nSubject: whole\r\n\r\nbody\r\n.\r\nMAIL FROM:<app@example.test>\r\n');
    const accepted = await beforeData.reply();
    expect(accepted).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(await beforeData.reply()).toMatch(SHUTTING_DOWN);
    expect(drainedYet).toBe(false);

    midData.write('second half\r\n.\r\n');
    const second = await midData.reply();
    expect(second).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(await midData.reply()).toMatch(SHUTTING_DOWN);
    await drained;
    expect(listener.sessions()).toBe(0);
    for (const id of [queueId(accepted), queueId(second)]) {
      expect(fx.store.sync.queue.get(id)?.status).toBe('queued');
      expect(fx.store.sync.bodies.has(id)).toBe(true);
    }
  });

  it('cuts a transaction short with 421 4.3.2 when the drain is abandoned', async () => {
    const c = await inTransaction();
    let drainedYet = false;
    const drained = listener.drain().then(() => (drainedYet = true));
    // The transaction goes on while the drain waits for it.
    expect(await c.command('NOOP')).toMatch(/^250/);
    expect(drainedYet).toBe(false);
    expect(listener.abort()).toBe(1);
    expect(await c.reply()).toMatch(SHUTTING_DOWN);
    await drained;
    expect(await closedWithin(c, 5_000)).toBe(true);
  });
});
