/**
 * Claims with leases, on both engines: an instance renews the leases of what
 * it delivers; a claim whose lease ran out (its instance died) is queued again
 * by any instance, and only then; a restarting instance queues again what it
 * left in flight but, on PostgreSQL, leaves another running instance's claims
 * alone. The relay's lease keeper renews and requeues on its ticks. An
 * instance that lost a claim records nothing of its attempt's outcome.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createClaimLeases } from '../../src/relay/claim-leases.js';
import type { Store } from '../../src/store/index.js';
import { CLAIM_LEASE_MS, CLAIM_LOST, QUEUE_EVENT } from '../../src/store/queue-outcome.js';
import type { AttemptResult } from '../../src/store/queue.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;
/** Just after a claim made at T0 ran out. */
const EXPIRED = T0 + CLAIM_LEASE_MS + 1;
const delivered: AttemptResult = { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250 2.0.0 OK' }], failed: [] };
const notice = { failed: true, delayed: false, noticeId: 'N1', headers: Buffer.from('Subject: report\r\n\r\n') };

describe.each(ENGINES)('claims with leases on %s', (engine) => {
  const clock = { now: T0 };
  const now = (): number => clock.now;
  let es: EngineStore;
  let a: Store;
  let b: Store;
  let serverId: number;
  beforeEach(async () => {
    clock.now = T0;
    es = await openEngineStore(engine, now);
    a = await openAnotherInstance(es, 'relay-a', now);
    b = await openAnotherInstance(es, 'relay-b', now);
    serverId = (await es.store.servers.add(plainServer())).id;
    await es.store.queue.insert(
      ['M1', 'M2', 'M3'].map((id) => queuedMessage(id, serverId, { receivedAt: T0, expiresAt: T0 + 86_400_000 })),
    );
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
    expect(await a.queue.renewLeases(['M1', 'M2'], T0 + CLAIM_LEASE_MS / 2)).toBe(1);
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

  it("the relay's lease keeper renews what it delivers and queues again what another instance left, or an attempt it could not record", async () => {
    await a.queue.claim('M1', T0);
    await b.queue.claim('M2', T0);
    // relay365's attempt for M3 ended without its outcome recorded (the database failed): no attempt runs for it.
    await a.queue.claim('M3', T0);
    let told = 0;
    const keeper = createClaimLeases({ store: a, log: silentLogger, now, requeued: () => told++, delivering: () => ['M1'] });
    clock.now = T0 + CLAIM_LEASE_MS / 2;
    await keeper.tick();
    expect(told).toBe(0);
    clock.now = T0 + CLAIM_LEASE_MS + 1;
    await keeper.tick();
    expect(told).toBe(1);
    expect(await a.queue.get('M1')).toMatchObject({ status: 'sending' });
    expect(await a.queue.get('M2')).toMatchObject({ status: 'queued' });
    expect(await a.queue.get('M3')).toMatchObject({ status: 'queued' });
  });

  describe('an outcome after a lost claim', () => {
    beforeEach(async () => {
      await a.queue.claim('M1', T0);
      expect(await b.queue.requeueExpired(EXPIRED)).toBe(1);
    });

    it('writes nothing for a message queued again, and says so', async () => {
      expect(await a.queue.recordAttempt('M1', delivered, EXPIRED + 1)).toBe(CLAIM_LOST);
      await a.queue.forgetAttempt('M1');
      expect(await a.queue.get('M1')).toMatchObject({ status: 'queued', attempts: 1, nextAttemptAt: EXPIRED });
      expect((await a.queue.recipients('M1')).map((r) => r.status)).toEqual(['pending']);
      expect((await a.queue.events('M1')).map((e) => e.kind)).toEqual(['received', 'requeued']);
    });

    it('leaves a message claimed again by another instance as that claim leaves it, and owes no notice', async () => {
      expect(await b.queue.claim('M1', EXPIRED + 1)).toMatchObject({ status: 'sending', attempts: 2 });
      // A held server's probe takes back its attempt: not the new claim's.
      await a.queue.forgetAttempt('M1');
      expect(await a.queue.recordAttempt('M1', { kind: 'hold', reply: '535 5.7.3' }, EXPIRED + 2)).toBe(CLAIM_LOST);
      expect(await a.queue.get('M1')).toMatchObject({ status: 'sending', attempts: 2 });
      expect(await b.queue.recordAttempt('M1', delivered, EXPIRED + 3)).toBe('delivered');
      const expired: AttemptResult = { kind: 'expire', reply: 'gave up after 1 attempts: 451 4.4.1' };
      expect(await a.queue.recordOutcome('M1', expired, EXPIRED + 4, notice)).toEqual({
        status: CLAIM_LOST,
        owed: null,
        noticeError: null,
      });
      expect(await a.queue.get('M1')).toMatchObject({ status: 'delivered', lastReply: '250 2.0.0 OK' });
      expect((await a.queue.recipients('M1')).map((r) => r.status)).toEqual(['delivered']);
      expect((await a.queue.events('M1')).map((e) => e.kind)).toEqual(['received', 'requeued', 'delivered']);
      expect(await a.queue.notices.owed()).toEqual([]);
    });

    it('records the outcome of a claim still held, and of mail nobody claimed (a test email)', async () => {
      await b.queue.claim('M2', T0);
      expect(await b.queue.recordAttempt('M2', delivered, T0 + 1)).toBe('delivered');
      await a.queue.insert([queuedMessage('TEST', serverId, { receivedAt: T0, status: 'sending' })]);
      expect(await a.queue.recordAttempt('TEST', delivered, T0 + 1)).toBe('delivered');
      // Once recorded, the claim is spent: a second outcome of the same attempt writes nothing.
      expect(await b.queue.recordAttempt('M2', { kind: 'expire', reply: 'expired' }, T0 + 2)).toBe(CLAIM_LOST);
      expect(await a.queue.get('M2')).toMatchObject({ status: 'delivered' });
    });
  });
});
