/**
 * The queue's multi-step writes for the scheduler: a claim with its quota
 * reservation, and an outcome with the notice it makes owed, each one call
 * and one transaction. Through the store's asynchronous interface, as any
 * engine answers it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptResult, NoticeCandidate } from '../../src/store/queue.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;
const LANE = 'mailbox:relay@contoso.test';

let fx: Fixture;
let serverId: number;
beforeEach(async () => {
  fx = createFixture();
  serverId = (await fx.store.servers.add(plainServer())).id;
  await fx.store.queue.insert([
    queuedMessage('M1', serverId, { receivedAt: T0, expiresAt: T0 + 86_400_000, recipients: ['a@example.test', 'b@example.test'] }),
  ]);
});
afterEach(() => fx.cleanup());

const notice = (wants: Partial<NoticeCandidate> = {}): NoticeCandidate => ({
  failed: true,
  delayed: false,
  noticeId: 'N1',
  headers: Buffer.from('Subject: report\r\n\r\n'),
  ...wants,
});
const a = { address: 'a@example.test', reply: '250 2.0.0 OK' };
const bFailed = { address: 'b@example.test', reply: '550 5.1.1 unknown' };

describe('claimAndReserve', () => {
  it('marks the message sending, counts the attempt and reserves its recipients against the lane', async () => {
    const claim = await fx.store.queue.claimAndReserve('M1', LANE, 2, T0);
    expect(claim?.message).toMatchObject({ id: 'M1', status: 'sending', attempts: 1 });
    expect(await fx.store.laneState.fitsAt(LANE, 1, 2, T0)).toBeGreaterThan(T0);
    expect(await fx.store.laneState.fitsAt(LANE, 1, 3, T0)).toBe(T0);
  });

  it('reserves nothing for a message that is no longer waiting', async () => {
    await fx.store.queue.claimAndReserve('M1', LANE, 2, T0);
    expect(await fx.store.queue.claimAndReserve('M1', LANE, 2, T0)).toBeUndefined();
    expect(await fx.store.queue.claimAndReserve('unknown', LANE, 2, T0)).toBeUndefined();
    expect(await fx.store.laneState.fitsAt(LANE, 1, 3, T0)).toBe(T0);
  });
});

describe('recordOutcome', () => {
  const record = async (result: AttemptResult, wants?: Partial<NoticeCandidate>) => {
    await fx.store.queue.claim('M1', T0);
    return fx.store.queue.recordOutcome('M1', result, T0 + 1, notice(wants));
  };

  it('owes a failure notice when the message finishes with a recipient failed for good', async () => {
    expect(await record({ kind: 'done', delivered: [a], failed: [bFailed] })).toEqual({
      status: 'delivered',
      owed: 'failed',
      noticeError: null,
    });
    expect(await fx.store.queue.notices.owed()).toEqual([
      { messageId: 'M1', kind: 'failed', noticeId: 'N1', headers: Buffer.from('Subject: report\r\n\r\n'), owedAt: T0 + 1 },
    ]);
  });

  it('owes none when every recipient was delivered, or while a failed one waits for the rest', async () => {
    expect(await record({ kind: 'done', delivered: [a, { ...a, address: 'b@example.test' }], failed: [] })).toMatchObject({ owed: null });
    await fx.store.queue.insert([queuedMessage('M2', serverId, { recipients: ['a@example.test', 'b@example.test'] })]);
    await fx.store.queue.claim('M2', T0);
    const partly = await fx.store.queue.recordOutcome(
      'M2',
      { kind: 'defer', nextAttemptAt: T0 + 60_000, reply: '451 4.3.0 later', failed: [bFailed] },
      T0,
      notice({ noticeId: 'N2' }),
    );
    expect(partly).toMatchObject({ status: 'deferred', owed: null });
    expect(await fx.store.queue.notices.owed()).toEqual([]);
  });

  it('owes a delay notice for a deferral when asked, and never the same notice twice', async () => {
    const defer: AttemptResult = { kind: 'defer', nextAttemptAt: T0 + 60_000, reply: '451 4.3.0 later' };
    expect(await record(defer, { failed: false, delayed: true })).toMatchObject({ status: 'deferred', owed: 'delayed' });
    expect(await record(defer, { failed: false, delayed: true, noticeId: 'N9' })).toMatchObject({ status: 'deferred', owed: null });
    expect((await fx.store.queue.notices.owed()).map((n) => [n.kind, n.noticeId])).toEqual([['delayed', 'N1']]);
  });

  it('keeps the outcome when its notice cannot be recorded, and says why', async () => {
    // SQLite-specific: the failure is made by dropping the table behind the seam; the rest goes through the interface.
    fx.store.db.exec('DROP TABLE notices');
    const recorded = await record({ kind: 'done', delivered: [a], failed: [bFailed] });
    expect(recorded).toMatchObject({ status: 'delivered', owed: null, noticeError: expect.stringMatching(/notices/) });
    expect((await fx.store.queue.get('M1'))?.status).toBe('delivered');
    expect((await fx.store.queue.recipients('M1')).map((r) => r.status)).toEqual(['delivered', 'failed']);
  });
});
