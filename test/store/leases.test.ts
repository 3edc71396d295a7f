/**
 * A cluster's leases on both engines: one holder at a time, taken over only
 * once the holder's time ran out or it let go, renewed while held, and
 * marked wanted by an instance waiting for it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';

let opened: EngineStore | null = null;
const others: Store[] = [];
afterEach(async () => {
  await Promise.all(others.splice(0).map((s) => s.close()));
  await opened?.cleanup();
  opened = null;
});

describe.each(ENGINES)('leases (%s)', (engine) => {
  const open = async (): Promise<{ a: Store; b: Store }> => {
    opened = await openEngineStore(engine);
    const b = await openAnotherInstance(opened, 'relay-b');
    others.push(b);
    return { a: opened.store, b };
  };

  it('has one holder until its time runs out; the holder takes it again at any time', async () => {
    const { a, b } = await open();
    expect(await a.leases.acquire('lane:x', 1_000, 31_000, false)).toBeNull();
    expect(await b.leases.acquire('lane:x', 30_999, 61_000, false)).toBe('relay365');
    expect(await a.leases.acquire('lane:x', 40_000, 70_000, false)).toBeNull();
    // A lease runs out at its time: from then on it is free.
    expect(await b.leases.acquire('lane:x', 70_000, 100_000, false)).toBeNull();
    expect(await a.leases.acquire('lane:x', 80_000, 110_000, false)).toBe('relay-b');
    expect(await a.leases.list()).toEqual([{ name: 'lane:x', holder: 'relay-b', heldUntil: 100_000, wantedBy: null }]);
  });

  it('renews only what the instance still holds, and says which are wanted', async () => {
    const { a, b } = await open();
    await a.leases.acquire('lane:x', 0, 30_000, false);
    await a.leases.acquire('job:alerts', 0, 30_000, false);
    // relay-b waits for lane:x; it ran out for job:alerts, which relay-b takes.
    expect(await b.leases.acquire('lane:x', 10_000, 40_000, true)).toBe('relay365');
    expect(await b.leases.acquire('job:alerts', 30_001, 60_000, false)).toBeNull();
    expect(await a.leases.renew(70_000)).toEqual([{ name: 'lane:x', wanted: true }]);
    expect((await a.leases.list()).find((l) => l.name === 'lane:x')).toEqual({
      name: 'lane:x',
      holder: 'relay365',
      heldUntil: 70_000,
      wantedBy: 'relay-b',
    });
  });

  it('lets another instance take a released lease from the time given, with nobody waiting any more', async () => {
    const { a, b } = await open();
    await a.leases.acquire('lane:x', 0, 30_000, false);
    await b.leases.acquire('lane:x', 1_000, 31_000, true);
    await a.leases.release('lane:x', 3_000);
    // Releasing what another holds changes nothing.
    await b.leases.release('lane:x', 0);
    expect(await b.leases.acquire('lane:x', 2_500, 32_500, false)).toBe('relay365');
    expect(await b.leases.acquire('lane:x', 3_000, 33_000, false)).toBeNull();
    expect(await a.leases.list()).toEqual([{ name: 'lane:x', holder: 'relay-b', heldUntil: 33_000, wantedBy: null }]);
    expect(await a.leases.renew(90_000)).toEqual([]);
  });

  it('gives a lease to one of two instances racing for it', async () => {
    const { a, b } = await open();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).leases.acquire(`lane:${i >> 1}`, 0, 30_000, false)),
    );
    // Of each pair, exactly one took the lease (null) and the other was told who holds it.
    for (let i = 0; i < answers.length; i += 2) {
      const [fromA, fromB] = [answers[i], answers[i + 1]];
      expect([fromA, fromB]).toEqual(fromA === null ? [null, 'relay365'] : ['relay-b', null]);
    }
  });
});
