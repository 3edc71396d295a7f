import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLaneStateRepo } from '../../src/store/lane-state.js';
import { DELIVERY_PATH_SQL, type NewMessage } from '../../src/store/queue.js';
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

  it('hands out due mail oldest due first across servers and statuses, up to the limit', () => {
    const a = fx.store.sync.servers.add(plainServer({ name: 'a' })).id;
    const b = fx.store.sync.servers.add(plainServer({ name: 'b' })).id;
    fx.store.sync.queue.insert([message('A1', a, T0 + 3), message('B1', b, T0 + 1), message('A2', a, T0 + 2), message('B2', b, T0 + 50)]);
    // A deferred message due before every queued one comes first; one due later is not handed out.
    fx.store.sync.queue.claim('A1', T0 + 10);
    fx.store.sync.queue.recordAttempt('A1', { kind: 'defer', nextAttemptAt: T0, reply: '451 4.3.0 try later' }, T0 + 10);
    expect(fx.store.sync.queue.peekDue([a, b], T0 + 20, 10).map((m) => m.id)).toEqual(['A1', 'B1', 'A2']);
    expect(fx.store.sync.queue.peekDue([a, b], T0 + 20, 2).map((m) => m.id)).toEqual(['A1', 'B1']);
    expect(fx.store.sync.queue.peekDue([b], T0 + 100, 1).map((m) => m.id)).toEqual(['B1']);
  });

  it('answers the daily quota from the last 24 hours of reservations, as settled, and again after a restart', () => {
    const lanes = fx.store.sync.laneState;
    // 20,000 one-recipient reservations, one every 6 seconds (14,400 a day).
    fx.store.db.transaction(() => {
      for (let i = 0; i < 20_000; i++) lanes.reserve('box', `M${i}`, 1, T0 + i * 6_000);
    })();
    const now = T0 + 20_000 * 6_000;
    // Those up to #5600 fell out of the last 24 hours; 14,399 count. Ten more fit under 14,409.
    expect(lanes.fitsAt('box', 10, 14_409, now)).toBe(now);
    // Under 14,404 the five oldest that still count must leave first: the fifth (#5605) leaves 24 h after it was made.
    expect(lanes.fitsAt('box', 10, 14_404, now)).toBe(T0 + 5_605 * 6_000 + DAY);
    // A reservation settled at fewer recipients counts for those only; one with none counts for nothing.
    const big = lanes.reserve('box', 'BIG', 100, now);
    expect(lanes.fitsAt('box', 10, 14_509, now)).toBe(now);
    expect(lanes.fitsAt('box', 11, 14_509, now)).toBeGreaterThan(now);
    lanes.settle(big, 100, 40);
    expect(lanes.fitsAt('box', 70, 14_509, now)).toBe(now);
    expect(lanes.fitsAt('box', 71, 14_509, now)).toBeGreaterThan(now);
    // Another mailbox has its own budget.
    expect(lanes.fitsAt('other', 5, 5, now)).toBe(now);

    const reopened = createLaneStateRepo(fx.store.db);
    expect(reopened.fitsAt('box', 70, 14_509, now)).toBe(now);
    expect(reopened.fitsAt('box', 71, 14_509, now)).toBe(lanes.fitsAt('box', 71, 14_509, now));
  });
});
