/**
 * Claims with leases, on both engines: an instance renews the leases of what
 * it delivers; a claim whose lease ran out (its instance died) is queued again
 * by any instance, and only then; a restarting instance queues again what it
 * left in flight but, on PostgreSQL, leaves another running instance's claims
 * alone. The relay's lease keeper renews and requeues on its ticks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createClaimLeases } from '../../src/relay/claim-leases.js';
import type { Store } from '../../src/store/index.js';
import { CLAIM_LEASE_MS, QUEUE_EVENT } from '../../src/store/queue-outcome.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;

describe.each(ENGINES)('claims with leases on %s', (engine) => {
  const clock = { now: T0 };
  const now = (): number => clock.now;
  let es: EngineStore;
  let a: Store;
  let b: Store;
  beforeEach(async () => {
    clock.now = T0;
    es = await openEngineStore(engine, now);
    a = await openAnotherInstance(es, 'relay-a', now);
    b = await openAnotherInstance(es, 'relay-b', now);
    const serverId = (await es.store.servers.add(plainServer())).id;
    await es.store.queue.insert(['M1', 'M2'].map((id) => queuedMessage(id, serverId, { receivedAt: T0, expiresAt: T0 + 86_400_000 })));
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await es.cleanup();
  });

  it('renews only its own claims, and another instance queues a claim again only once its lease ran out', async () => {
    await a.instances.join('relay-a', '1.0.0', T0, T0);
    await b.instances.join('relay-b', '1.0.0', T0, T0);
    await a.queue.claim('M1', T0);
    await b.queue.claim('M2', T0);
    // cluster status says what each is delivering.
    expect((await a.instances.list()).map((m) => [m.id, m.delivering]).sort()).toEqual([
      ['relay-a', 1],
      ['relay-b', 1],
    ]);
    expect(await a.queue.renewLeases(T0 + CLAIM_LEASE_MS / 2)).toBe(1);
    // M2's lease ends at T0 + CLAIM_LEASE_MS; M1's was renewed to 1.5 leases.
    expect(await a.queue.requeueExpired(T0 + CLAIM_LEASE_MS - 1)).toBe(0);
    expect(await a.queue.requeueExpired(T0 + CLAIM_LEASE_MS + 1)).toBe(1);
    expect(await a.queue.get('M2')).toMatchObject({ status: 'queued', nextAttemptAt: T0 + CLAIM_LEASE_MS + 1 });
    expect((await a.queue.events('M2')).at(-1)).toMatchObject({ kind: 'requeued', detail: QUEUE_EVENT.expired });
    expect(await a.queue.get('M1')).toMatchObject({ status: 'sending' });
    expect(await b.queue.requeueExpired(T0 + CLAIM_LEASE_MS * 1.5 + 1)).toBe(1);
    // Queued again, it can be claimed again, by either instance.
    expect(await b.queue.claim('M1', T0 + CLAIM_LEASE_MS * 2)).toMatchObject({ status: 'sending', attempts: 2 });
  });

  it('queues again at start-up what the restarting instance left in flight', async () => {
    await a.queue.claim('M1', T0);
    await b.queue.claim('M2', T0);
    const requeued = await a.queue.requeueInFlight(T0 + 1);
    // One relay per data folder with SQLite: everything in flight is its own. PostgreSQL keeps relay-b's live claim.
    expect(requeued).toBe(engine === 'sqlite' ? 2 : 1);
    expect(await a.queue.get('M1')).toMatchObject({ status: 'queued' });
    expect(await a.queue.get('M2')).toMatchObject({ status: engine === 'sqlite' ? 'queued' : 'sending' });
  });

  it("the relay's lease keeper renews what it delivers and queues again what another instance left", async () => {
    await a.queue.claim('M1', T0);
    await b.queue.claim('M2', T0);
    let told = 0;
    const keeper = createClaimLeases({ store: a, log: silentLogger, now, requeued: () => told++ });
    clock.now = T0 + CLAIM_LEASE_MS / 2;
    await keeper.tick();
    expect(told).toBe(0);
    clock.now = T0 + CLAIM_LEASE_MS + 1;
    await keeper.tick();
    expect(told).toBe(1);
    expect(await a.queue.get('M1')).toMatchObject({ status: 'sending' });
    expect(await a.queue.get('M2')).toMatchObject({ status: 'queued' });
  });
});
