/**
 * Refused SMTP sessions as stored, on both engines: coalesced per client and
 * reason (also within one batch, and when two batches are written at once),
 * listed newest first with filters and a cursor, bounded in rows, and pruned
 * by the retention timer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { createRetentionTimer } from '../../src/relay/retention-timer.js';
import { REFUSAL_ROW_CAP, refusalListQuery, type RefusalEntry, type RefusalFilter } from '../../src/store/refusals.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse('2030-06-01T12:00:00Z');

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

/** One refusal at `at`, as the recorder hands it over. */
function refusal(client: string, reason: string, at: number, detail = '550 5.7.1 Relaying denied'): RefusalEntry {
  return { client, reason, detail, hint: null, username: null, count: 1, firstAt: at, lastAt: at };
}

describe.each(ENGINES)('stored refusals (%s)', (engine) => {
  let es: EngineStore | undefined;
  afterEach(async () => {
    await es?.cleanup();
    es = undefined;
  });
  const openStore = async () => {
    es = await openEngineStore(engine);
    return es.store;
  };

  it('counts the same client and reason within a minute of the last on one row, keeping the latest detail', async () => {
    const { refusals } = await openStore();
    await refusals.record([refusal('192.0.2.7', 'too_big', NOW, '552 5.3.4 (41943040 bytes sent)')]);
    await refusals.record([refusal('192.0.2.7', 'too_big', NOW + 50_000, '552 5.3.4 (50000000 bytes sent)')]);
    // Less than a minute after the last one, though more than a minute after the first.
    await refusals.record([{ ...refusal('192.0.2.7', 'too_big', NOW + 100_000, '552 5.3.4 (60000000 bytes sent)'), count: 3 }]);
    expect(await refusals.list()).toEqual([
      expect.objectContaining({
        client: '192.0.2.7',
        reason: 'too_big',
        detail: '552 5.3.4 (60000000 bytes sent)',
        count: 5,
        firstAt: NOW,
        lastAt: NOW + 100_000,
      }),
    ]);
  });

  it('coalesces like refusals within one batch as it does across batches, in the batch’s order', async () => {
    const { refusals } = await openStore();
    await refusals.record([
      refusal('192.0.2.7', 'relay_denied', NOW, 'first'),
      refusal('192.0.2.8', 'relay_denied', NOW + 1),
      refusal('192.0.2.7', 'relay_denied', NOW + 30_000, 'second'),
      // More than a minute after the last one: a row of its own.
      refusal('192.0.2.7', 'relay_denied', NOW + 100_000, 'third'),
      { ...refusal('192.0.2.7', 'relay_denied', NOW + 110_000, 'fourth'), count: 2 },
    ]);
    expect((await refusals.list()).map((r) => [r.client, r.count, r.firstAt, r.lastAt, r.detail])).toEqual([
      ['192.0.2.7', 3, NOW + 100_000, NOW + 110_000, 'fourth'],
      ['192.0.2.7', 2, NOW, NOW + 30_000, 'second'],
      ['192.0.2.8', 1, NOW + 1, NOW + 1, '550 5.7.1 Relaying denied'],
    ]);
  });

  it('counts like refusals recorded at the same time (two relay instances) on one row', async () => {
    const { refusals } = await openStore();
    // Connections opened beforehand, so that the batches below do run at the same time.
    await Promise.all(Array.from({ length: 10 }, () => refusals.list()));
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        refusals.record([refusal('192.0.2.7', 'auth_failed', NOW + i), refusal(`198.51.100.${i}`, 'too_big', NOW)]),
      ),
    );
    const rows = await refusals.list();
    expect(rows.filter((r) => r.client === '192.0.2.7')).toEqual([
      // The first batch written starts the row, whichever it is; the row's last time is the latest.
      expect.objectContaining({
        reason: 'auth_failed',
        count: 6,
        firstAt: expect.toSatisfy((t: number) => t >= NOW && t <= NOW + 5),
        lastAt: NOW + 5,
      }),
    ]);
    expect(rows).toHaveLength(7);
  });

  it('keeps the latest hint and username, and a later last time than an earlier batch brings', async () => {
    const { refusals } = await openStore();
    await refusals.record([{ ...refusal('192.0.2.7', 'auth_failed', NOW + 10_000), hint: 'Reset the password.', username: 'scanner' }]);
    // A batch that arrives late with an earlier refusal: counted, the row's last time kept.
    await refusals.record([refusal('192.0.2.7', 'auth_failed', NOW)]);
    expect(await refusals.list()).toEqual([
      expect.objectContaining({ count: 2, firstAt: NOW + 10_000, lastAt: NOW + 10_000, hint: null, username: null }),
    ]);
    await refusals.record([]);
    expect(await refusals.list()).toHaveLength(1);
  });

  it('starts a new row after a quiet minute, and for another reason or another client', async () => {
    const { refusals } = await openStore();
    await refusals.record([refusal('192.0.2.7', 'relay_denied', NOW)]);
    await refusals.record([refusal('192.0.2.7', 'relay_denied', NOW + 60_001)]);
    await refusals.record([refusal('192.0.2.7', 'too_big', NOW + 60_002), refusal('192.0.2.8', 'relay_denied', NOW + 60_003)]);
    expect((await refusals.list()).map((r) => [r.client, r.reason, r.count, r.lastAt])).toEqual([
      ['192.0.2.8', 'relay_denied', 1, NOW + 60_003],
      ['192.0.2.7', 'too_big', 1, NOW + 60_002],
      ['192.0.2.7', 'relay_denied', 1, NOW + 60_001],
      ['192.0.2.7', 'relay_denied', 1, NOW],
    ]);
  });

  it('lists the most recently seen first, filtered by the start of the client address and by reason', async () => {
    const { refusals } = await openStore();
    await refusals.record([
      refusal('192.168.10.7', 'tls_failed', NOW),
      refusal('192.168.10.70', 'relay_denied', NOW + 1),
      refusal('192.168.11.7', 'tls_failed', NOW + 2),
      refusal('2001:db8::7', 'tls_failed', NOW + 3),
    ]);
    // The first row is seen again: it moves to the top.
    await refusals.record([refusal('192.168.10.7', 'tls_failed', NOW + 4)]);
    const clients = async (filter: RefusalFilter): Promise<string[]> => (await refusals.list(filter)).map((r) => r.client);
    expect(await clients({})).toEqual(['192.168.10.7', '2001:db8::7', '192.168.11.7', '192.168.10.70']);
    expect(await clients({ client: '192.168.10.' })).toEqual(['192.168.10.7', '192.168.10.70']);
    expect(await clients({ client: '192.168.10.7' })).toEqual(['192.168.10.7', '192.168.10.70']);
    expect(await clients({ reason: 'tls_failed' })).toEqual(['192.168.10.7', '2001:db8::7', '192.168.11.7']);
    expect(await clients({ client: '192.168.1', reason: 'relay_denied' })).toEqual(['192.168.10.70']);
    expect(await clients({ client: '10.' })).toEqual([]);
    // Empty filters are no filters (the panel's form sends them so).
    expect(await clients({ client: '', reason: '' })).toHaveLength(4);
    // The client filter is a prefix, not a pattern.
    expect(await clients({ client: '192.168.1_' })).toEqual([]);
    expect(await clients({ client: '%' })).toEqual([]);
  });

  it('pages by cursor without gaps or repeats', async () => {
    const { refusals } = await openStore();
    // Ten rows, pairs of them seen at the same millisecond.
    await refusals.record(Array.from({ length: 10 }, (_, i) => refusal(`198.51.100.${i}`, 'relay_denied', NOW + Math.floor(i / 2))));
    const seen: string[] = [];
    let after: RefusalFilter['after'];
    for (let page = 0; page < 10; page++) {
      const rows = await refusals.list({ after, limit: 3 });
      seen.push(...rows.map((r) => r.client));
      const last = rows.at(-1);
      if (rows.length < 3 || !last) break;
      after = { lastAt: last.lastAt, id: last.id };
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `198.51.100.${9 - i}`));
  });

  it('keeps at most REFUSAL_ROW_CAP rows, dropping the least recently seen', async () => {
    const { refusals } = await openStore();
    const total = REFUSAL_ROW_CAP + 500;
    // The first client is seen again at the end: it stays although its row is the oldest.
    await refusals.record(
      Array.from({ length: total }, (_, i) => refusal(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'relay_denied', NOW + i)),
    );
    await refusals.record([refusal('10.0.0.0', 'relay_denied', NOW + total + 30_000)]);
    await refusals.record(Array.from({ length: 200 }, (_, i) => refusal(`172.16.0.${i}`, 'too_big', NOW + total + 40_000 + i)));
    const rows = await refusals.list({ limit: total });
    expect(rows.length).toBeLessThanOrEqual(REFUSAL_ROW_CAP + 100);
    expect(rows.length).toBeGreaterThanOrEqual(REFUSAL_ROW_CAP);
    expect(rows.some((r) => r.client === '10.0.0.0')).toBe(true);
    expect(rows.some((r) => r.client === '10.0.0.1')).toBe(false);
    expect(rows[0]?.client).toBe('172.16.0.199');
  });

  it('is pruned by the retention timer once last seen before the retention', async () => {
    const { refusals, retention } = await openStore();
    await refusals.record([
      refusal('192.0.2.1', 'relay_denied', NOW - 40 * DAY),
      refusal('192.0.2.2', 'too_big', NOW - 31 * DAY),
      refusal('192.0.2.3', 'tls_failed', NOW - 29 * DAY),
    ]);
    const timer = createRetentionTimer({ retention, log: silent, retentionDays: 30, now: () => NOW });
    await timer.runOnce();
    expect((await refusals.list()).map((r) => r.client)).toEqual(['192.0.2.3']);
  });
});

describe('refusal queries on SQLite', () => {
  let fx: Fixture | undefined;
  afterEach(() => fx?.cleanup());

  // SQLite-specific: reads SQLite's query plans (EXPLAIN QUERY PLAN).
  it('serves the list, its filters and the coalescing look-up from indexes', () => {
    const { db } = (fx = createFixture()).store;
    const plan = (sql: string, params: unknown[]): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
    const list = (filter: RefusalFilter): string => {
      const { sql, params } = refusalListQuery(filter);
      return plan(sql, params);
    };
    expect(list({})).toMatch(/USING INDEX refusals_last/);
    expect(list({})).not.toMatch(/TEMP B-TREE/);
    expect(list({ reason: 'too_big', after: { lastAt: NOW, id: 5 } })).toMatch(/USING INDEX refusals_reason/);
    expect(list({ reason: 'too_big' })).not.toMatch(/TEMP B-TREE/);
    expect(list({ client: '192.168.' })).toMatch(/USING (COVERING )?INDEX refusals_client \(client>\? AND client<\?\)/);
    expect(
      plan('SELECT id FROM refusals WHERE client = ? AND reason = ? AND last_at >= ? ORDER BY last_at DESC LIMIT 1', ['a', 'b', 1]),
    ).toMatch(/USING (COVERING )?INDEX refusals_client \(client=\? AND reason=\? AND last_at>\?\)/);
  });
});
