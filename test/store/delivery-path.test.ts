/**
 * The store's part of delivery: due mail handed out by index, oldest due
 * first, and each mailbox's daily quota answered from its reservations of the
 * last 24 hours.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asAsync } from '../../src/store/async.js';
import { createLaneStateRepo } from '../../src/store/lane-state.js';
import { DELIVERY_PATH_SQL, type NewMessage } from '../../src/store/queue.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const DAY = 24 * 60 * 60_000;
const T0 = 1_700_000_000_000;

const message = (id: string, serverId: number, receivedAt: number): NewMessage =>
  queuedMessage(id, serverId, { receivedAt, expiresAt: receivedAt + DAY });

describe('the delivery path of the store', () => {
  let fx: Fixture;
  beforeEach(() => {
    fx = createFixture();
  });
  afterEach(() => fx.cleanup());

  // SQLite-specific: reads SQLite's query plans (EXPLAIN QUERY PLAN).
  it('reads each message it delivers by index, never scanning the queue or sorting it', () => {
    const { db } = fx.store;
    for (const [name, sql] of Object.entries(DELIVERY_PATH_SQL)) {
      const params = (sql.match(/\?/g) ?? []).map(() => 1);
      const plan = db
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((row) => row.detail);
      expect(
        plan.filter((step) => /^SCAN |TEMP B-TREE/.test(step)),
        `${name}: ${plan.join('; ')}`,
      ).toEqual([]);
      if (sql.includes('FROM recipients')) expect(plan.join('; '), name).toMatch(/PRIMARY KEY \(message_id=\?\)/);
    }
  });

  // SQLite-specific in its setting up: the 20,000 reservations are made in one SQLite transaction
  // through the synchronous repository (a commit each, each flushing the write-ahead log, takes
  // seconds), and the restart is a second repository over the same handle, which reads the ledger
  // afresh. The quota itself is read through the asynchronous interface.
  it('answers the daily quota from the last 24 hours of reservations, as settled, and again after a restart', async () => {
    const lanes = fx.store.laneState;
    // 20,000 one-recipient reservations, one every 6 seconds (14,400 a day).
    fx.store.db.transaction(() => {
      for (let i = 0; i < 20_000; i++) fx.store.sync.laneState.reserve('box', `M${i}`, 1, T0 + i * 6_000);
    })();
    const now = T0 + 20_000 * 6_000;
    // Those up to #5600 fell out of the last 24 hours; 14,399 count. Ten more fit under 14,409.
    expect(await lanes.fitsAt('box', 10, 14_409, now)).toBe(now);
    // Under 14,404 the five oldest that still count must leave first: the fifth (#5605) leaves 24 h after it was made.
    expect(await lanes.fitsAt('box', 10, 14_404, now)).toBe(T0 + 5_605 * 6_000 + DAY);
    // A reservation settled at fewer recipients counts for those only; one with none counts for nothing.
    const big = await lanes.reserve('box', 'BIG', 100, now);
    expect(await lanes.fitsAt('box', 10, 14_509, now)).toBe(now);
    expect(await lanes.fitsAt('box', 11, 14_509, now)).toBeGreaterThan(now);
    await lanes.settle(big, 100, 40);
    expect(await lanes.fitsAt('box', 70, 14_509, now)).toBe(now);
    expect(await lanes.fitsAt('box', 71, 14_509, now)).toBeGreaterThan(now);
    // Another mailbox has its own budget.
    expect(await lanes.fitsAt('other', 5, 5, now)).toBe(now);

    const reopened = asAsync(createLaneStateRepo(fx.store.db));
    expect(await reopened.fitsAt('box', 70, 14_509, now)).toBe(now);
    expect(await reopened.fitsAt('box', 71, 14_509, now)).toBe(await lanes.fitsAt('box', 71, 14_509, now));
  });
});

describe.each(ENGINES)('due mail on %s', (engine) => {
  let es: EngineStore;
  beforeEach(async () => {
    es = await openEngineStore(engine);
  });
  afterEach(() => es.cleanup());

  it('hands out due mail oldest due first across servers and statuses, up to the limit', async () => {
    const { servers, queue } = es.store;
    const a = (await servers.add(plainServer({ name: 'a' }))).id;
    const b = (await servers.add(plainServer({ name: 'b' }))).id;
    await queue.insert([message('A1', a, T0 + 3), message('B1', b, T0 + 1), message('A2', a, T0 + 2), message('B2', b, T0 + 50)]);
    // A deferred message due before every queued one comes first; one due later is not handed out.
    await queue.claim('A1', T0 + 10);
    await queue.recordAttempt('A1', { kind: 'defer', nextAttemptAt: T0, reply: '451 4.3.0 try later' }, T0 + 10);
    const due = async (serverIds: number[], now: number, limit: number): Promise<string[]> =>
      (await queue.peekDue(serverIds, now, limit)).map((m) => m.id);
    expect(await due([a, b], T0 + 20, 10)).toEqual(['A1', 'B1', 'A2']);
    expect(await due([a, b], T0 + 20, 2)).toEqual(['A1', 'B1']);
    expect(await due([b], T0 + 100, 1)).toEqual(['B1']);
  });
});
