/**
 * The admin panel's dashboard figures, on both engines: outcomes per clock
 * hour over the last 24, waiting mail by status, by server and with its
 * bytes, and the oldest waiting message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DASHBOARD_SQL, HOUR_MS, windowStart } from '../../src/store/dashboard.js';
import type { AttemptResult, NewMessage } from '../../src/store/queue.js';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

// 12:34:56 UTC: the window runs from 13:00 the day before to the end of the 12:00 hour.
const NOW = Date.parse('2030-06-01T12:34:56Z');
const START = Date.parse('2030-05-31T13:00:00Z');
const END = START + 24 * HOUR_MS;

function message(id: string, receivedAt: number, to = ['alice@fabrikam.com']): NewMessage {
  return queuedMessage(id, 1, {
    mailFrom: 'erp@contoso.com',
    recipients: to,
    size: 100,
    subject: `subject ${id}`,
    receivedAt,
    expiresAt: receivedAt + 5 * 24 * HOUR_MS,
  });
}

const ok = (address: string) => ({ address, reply: '250 2.0.0 OK' });
const refused = (address: string) => ({ address, reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound' });
const delivered = (...to: string[]): AttemptResult => ({ kind: 'done', delivered: to.map(ok), failed: [] });
const defer = (at: number): AttemptResult => ({ kind: 'defer', nextAttemptAt: at + 5 * 60_000, reply: '451 4.7.500 Server busy' });

it('puts the window on the 24 clock hours ending with the current one', () => {
  expect(windowStart(NOW)).toBe(START);
  expect(windowStart(START + 23 * HOUR_MS)).toBe(START);
  expect(windowStart(END)).toBe(START + HOUR_MS);
});

describe.each(ENGINES)('dashboard figures (%s)', (engine) => {
  let es: EngineStore | undefined;
  afterEach(async () => {
    await es?.cleanup();
    es = undefined;
  });

  /** A fresh store with one email server (id 1). */
  async function seedServer(): Promise<Store> {
    es = await openEngineStore(engine);
    await es.store.servers.add(plainServer());
    return es.store;
  }

  it('counts each outcome in its hour, inside the window only', async () => {
    const { queue, dashboard } = await seedServer();
    const received = START - 2 * HOUR_MS;
    await queue.insert(
      ['BEFORE', 'FIRST', 'LASTMS', 'CURRENT', 'TWICE', 'PARTIAL', 'HELD', 'EXPIRED', 'FUTURE'].map((id) =>
        message(id, received, id === 'CURRENT' || id === 'PARTIAL' ? ['a@fabrikam.com', 'b@fabrikam.com'] : ['alice@fabrikam.com']),
      ),
    );
    // Just before the window, and the first instant in it.
    await queue.recordAttempt('BEFORE', delivered('alice@fabrikam.com'), START - 1);
    await queue.recordAttempt('FIRST', delivered('alice@fabrikam.com'), START);
    // The last millisecond of the first hour stays in it.
    await queue.recordAttempt('LASTMS', delivered('alice@fabrikam.com'), START + HOUR_MS - 1);
    // Two recipients delivered at once: one message.
    await queue.recordAttempt('CURRENT', delivered('a@fabrikam.com', 'b@fabrikam.com'), NOW);
    // Deferred twice in hour 5 counts once there; then failed in hour 6.
    await queue.recordAttempt('TWICE', defer(START + 5 * HOUR_MS), START + 5 * HOUR_MS);
    await queue.recordAttempt('TWICE', defer(START + 5 * HOUR_MS + 60_000), START + 5 * HOUR_MS + 60_000);
    await queue.recordAttempt('TWICE', { kind: 'done', delivered: [], failed: [refused('alice@fabrikam.com')] }, START + 6 * HOUR_MS);
    // One recipient delivered and one refused in the same attempt: under both outcomes.
    await queue.recordAttempt(
      'PARTIAL',
      { kind: 'done', delivered: [ok('a@fabrikam.com')], failed: [refused('b@fabrikam.com')] },
      START + 10 * HOUR_MS,
    );
    await queue.holdServer(1, '535 5.7.3 Authentication unsuccessful', START + 22 * HOUR_MS);
    await queue.recordAttempt('EXPIRED', { kind: 'expire', reply: 'expired after 5 days' }, START + 23 * HOUR_MS);
    // A clock that jumped: the hour after the current one is not shown.
    await queue.recordAttempt('FUTURE', delivered('alice@fabrikam.com'), END);

    const hours = await dashboard.hourly(NOW);
    expect(hours).toHaveLength(24);
    expect(hours.map((h) => h.start)).toEqual(Array.from({ length: 24 }, (_, i) => START + i * HOUR_MS));
    const nonZero = hours
      .map(({ start, ...counts }, i) => [i, Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))] as const)
      .filter(([, counts]) => Object.keys(counts).length > 0);
    expect(Object.fromEntries(nonZero)).toEqual({
      0: { delivered: 2 },
      5: { deferred: 1 },
      6: { failed: 1 },
      10: { delivered: 1, failed: 1 },
      // holdServer held every message still waiting then: HELD, EXPIRED and FUTURE.
      22: { held: 3 },
      23: { delivered: 1, failed: 1 },
    });
  });

  it('counts waiting mail by status and by server, and finds the oldest waiting message', async () => {
    const { queue, servers, dashboard } = await seedServer();
    await servers.add(plainServer({ name: 'second' }));
    expect(await dashboard.oldestWaiting()).toBeNull();
    expect(await dashboard.queueCounts()).toEqual({ queued: 0, deferred: 0, sending: 0, held: 0 });
    expect(await dashboard.waitingGroups()).toEqual([]);
    expect(await dashboard.waitingByServer()).toEqual(new Map());
    await queue.insert([
      message('DONE', NOW - 10 * HOUR_MS),
      message('HELD', NOW - 3 * HOUR_MS),
      message('DEFERRED', NOW - 2 * HOUR_MS),
      message('QUEUED', NOW - HOUR_MS),
      { ...message('OTHER', NOW - 30 * 60_000), serverId: 2 },
      message('SENDING', NOW - 60_000),
    ]);
    await queue.recordAttempt('DONE', delivered('alice@fabrikam.com'), NOW - 9 * HOUR_MS);
    await queue.recordAttempt('HELD', { kind: 'hold', reply: '535 5.7.3' }, NOW - 3 * HOUR_MS);
    await queue.recordAttempt('DEFERRED', defer(NOW), NOW - 2 * HOUR_MS);
    expect((await queue.claim('SENDING', NOW))?.status).toBe('sending');

    expect(await dashboard.queueCounts()).toEqual({ queued: 2, deferred: 1, sending: 1, held: 1 });
    expect(Object.fromEntries(await dashboard.waitingByServer())).toEqual({ 1: 4, 2: 1 });
    const groups = await dashboard.waitingGroups();
    expect(groups.sort((a, b) => (a.serverId ?? 0) - (b.serverId ?? 0) || a.status.localeCompare(b.status))).toEqual([
      { serverId: 1, status: 'deferred', messages: 1, bytes: 100 },
      { serverId: 1, status: 'held', messages: 1, bytes: 100 },
      { serverId: 1, status: 'queued', messages: 1, bytes: 100 },
      { serverId: 1, status: 'sending', messages: 1, bytes: 100 },
      { serverId: 2, status: 'queued', messages: 1, bytes: 100 },
    ]);
    expect(await dashboard.oldestWaiting()).toEqual({
      id: 'HELD',
      serverId: 1,
      status: 'held',
      subject: 'subject HELD',
      receivedAt: NOW - 3 * HOUR_MS,
    });
    await queue.releaseHeld(1, NOW);
    await queue.recordAttempt('HELD', delivered('alice@fabrikam.com'), NOW);
    expect((await dashboard.oldestWaiting())?.id).toBe('DEFERRED');
  });
});

describe('dashboard queries on SQLite', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  // SQLite-specific: reads SQLite's query plans (EXPLAIN QUERY PLAN).
  it('answers every query from an index, never by reading a whole table', async () => {
    fx = createFixture();
    await fx.store.servers.add(plainServer());
    for (const [name, sql] of Object.entries(DASHBOARD_SQL)) {
      const params = Array<number>((sql.match(/\?/g) ?? []).length).fill(0);
      const plan = (fx.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
      const reads = plan.filter((d) => /\b(messages|recipients|events)\b/.test(d));
      expect(reads.length, name).toBeGreaterThan(0);
      for (const read of reads) expect(read, name).toMatch(/^SEARCH \w+ USING (COVERING )?INDEX /);
    }
  });
});
