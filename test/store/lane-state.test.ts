/**
 * A mailbox lane's durable state, on both engines: its pause and lowered
 * connection limit, and the recipients reserved against its rolling daily
 * quota, as settled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';

const DAY = 24 * 60 * 60_000;
const T0 = 1_700_000_000_000;

describe.each(ENGINES)('lane state on %s', (engine) => {
  let es: EngineStore;
  let lanes: Store['laneState'];
  beforeEach(async () => {
    es = await openEngineStore(engine);
    lanes = es.store.laneState;
  });
  afterEach(() => es.cleanup());

  it('has no state for a lane it never saw, and keeps the last state saved', async () => {
    expect(await lanes.load('box')).toBeNull();
    await lanes.save('box', { pausedUntil: T0 + 60_000, throttleLimit: 1, throttledUntil: T0 + 120_000 }, T0);
    await lanes.save('other', { pausedUntil: 0, throttleLimit: null, throttledUntil: 0 }, T0);
    expect(await lanes.load('box')).toEqual({ pausedUntil: T0 + 60_000, throttleLimit: 1, throttledUntil: T0 + 120_000 });
    await lanes.save('box', { pausedUntil: 0, throttleLimit: null, throttledUntil: 0 }, T0 + 1);
    expect(await lanes.load('box')).toEqual({ pausedUntil: 0, throttleLimit: null, throttledUntil: 0 });
    expect(await lanes.load('other')).toEqual({ pausedUntil: 0, throttleLimit: null, throttledUntil: 0 });
  });

  it('says recipients fit now while the reservations of the last 24 hours leave room', async () => {
    await lanes.reserve('box', 'M1', 3, T0);
    await lanes.reserve('box', 'M2', 4, T0 + 1_000);
    expect(await lanes.fitsAt('box', 3, 10, T0 + 2_000)).toBe(T0 + 2_000);
    // Another mailbox has its own budget.
    expect(await lanes.fitsAt('other', 10, 10, T0 + 2_000)).toBe(T0 + 2_000);
  });

  it('says when enough of the oldest reservations leave the rolling day', async () => {
    await lanes.reserve('box', 'M1', 3, T0);
    await lanes.reserve('box', 'M2', 4, T0 + 1_000);
    await lanes.reserve('box', 'M3', 2, T0 + 2_000);
    const now = T0 + 3_000;
    // 9 used of 10: 2 more need M1 gone; 5 more need M1 and M2 gone.
    expect(await lanes.fitsAt('box', 2, 10, now)).toBe(T0 + DAY);
    expect(await lanes.fitsAt('box', 5, 10, now)).toBe(T0 + 1_000 + DAY);
    // Once M1 has left the day, it no longer counts.
    expect(await lanes.fitsAt('box', 2, 10, T0 + DAY)).toBe(T0 + DAY);
    expect(await lanes.fitsAt('box', 5, 10, T0 + DAY)).toBe(T0 + 1_000 + DAY);
  });

  it('counts the attempts a lane started since a time, for whichever instance takes it next', async () => {
    await lanes.reserve('box', 'M1', 3, T0);
    await lanes.reserve('box', 'M2', 1, T0 + 30_000);
    await lanes.reserve('box', 'M3', 1, T0 + 50_000);
    await lanes.reserve('other', 'M4', 1, T0 + 50_000);
    expect(await lanes.startsSince('box', T0)).toBe(2);
    expect(await lanes.startsSince('box', T0 - 1)).toBe(3);
    expect(await lanes.startsSince('box', T0 + 50_000)).toBe(0);
    expect(await lanes.startsSince('none', 0)).toBe(0);
  });

  it('lets a message larger than the whole budget go once nothing else counts', async () => {
    expect(await lanes.fitsAt('box', 20, 10, T0)).toBe(T0);
    await lanes.reserve('box', 'M1', 1, T0);
    await lanes.reserve('box', 'M2', 1, T0 + 5_000);
    expect(await lanes.fitsAt('box', 20, 10, T0 + 6_000)).toBe(T0 + 5_000 + DAY);
  });

  it('counts a settled reservation at its accepted recipients, and one with none not at all', async () => {
    const first = await lanes.reserve('box', 'M1', 5, T0);
    const second = await lanes.reserve('box', 'M2', 5, T0 + 1_000);
    expect(second).not.toBe(first);
    expect(await lanes.fitsAt('box', 1, 10, T0 + 2_000)).toBe(T0 + DAY);
    await lanes.settle(first, 5, 2);
    expect(await lanes.fitsAt('box', 3, 10, T0 + 2_000)).toBe(T0 + 2_000);
    expect(await lanes.fitsAt('box', 4, 10, T0 + 2_000)).toBe(T0 + DAY);
    await lanes.settle(first, 2, 0);
    expect(await lanes.fitsAt('box', 5, 10, T0 + 2_000)).toBe(T0 + 2_000);
    expect(await lanes.fitsAt('box', 6, 10, T0 + 2_000)).toBe(T0 + 1_000 + DAY);
    // Every recipient accepted: nothing changes.
    await lanes.settle(second, 5, 5);
    expect(await lanes.fitsAt('box', 6, 10, T0 + 2_000)).toBe(T0 + 1_000 + DAY);
  });

  it('answers from the reservations of the last day among many, in the order they were made', async () => {
    // 300 one-recipient reservations, one every 6 minutes (240 a day): those up to #60 have left the day, 239 count.
    for (let i = 0; i < 300; i++) await lanes.reserve('box', `M${i}`, 1, T0 + i * 360_000);
    const now = T0 + 300 * 360_000;
    expect(await lanes.fitsAt('box', 10, 249, now)).toBe(now);
    // Under 244 the five oldest that still count must leave: the fifth (#65) leaves 24 h after it was made.
    expect(await lanes.fitsAt('box', 10, 244, now)).toBe(T0 + 65 * 360_000 + DAY);
  });
});
