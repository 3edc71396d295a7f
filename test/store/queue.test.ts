/**
 * The queue through the store's asynchronous interface, on both engines:
 * accepting mail with its last body chunk in one transaction, claims (one
 * winner when two instances claim at once), attempt outcomes with the notice
 * they make owed, holds and releases, the admin's retries and deletions, and
 * crash recovery.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteStore, Store } from '../../src/store/index.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import type { AttemptResult, NewMessage, NoticeCandidate } from '../../src/store/queue.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const LANE = 'mailbox:relay@contoso.test';

const a = { address: 'a@example.test', reply: '250 2.0.0 OK' };
const bOk = { address: 'b@example.test', reply: '250 2.0.0 OK b' };
const bFailed = { address: 'b@example.test', reply: '550 5.1.1 unknown' };
const later: AttemptResult = { kind: 'defer', nextAttemptAt: T0 + 60_000, reply: '451 4.3.0 later' };

const notice = (wants: Partial<NoticeCandidate> = {}): NoticeCandidate => ({
  failed: true,
  delayed: false,
  noticeId: 'N1',
  headers: Buffer.from('Subject: report\r\n\r\n'),
  ...wants,
});

describe.each(ENGINES)('the queue on %s', (engine) => {
  let es: EngineStore;
  let store: Store;
  let serverId: number;
  /** A two-recipient message of the first server, received at `receivedAt`. */
  const message = (id: string, receivedAt = T0, overrides: Partial<NewMessage> = {}): NewMessage =>
    queuedMessage(id, serverId, {
      receivedAt,
      expiresAt: receivedAt + DAY,
      recipients: ['a@example.test', 'b@example.test'],
      ...overrides,
    });
  const statusOf = async (id: string) => (await store.queue.get(id))?.status;

  beforeEach(async () => {
    es = await openEngineStore(engine, () => T0);
    store = es.store;
    serverId = (await store.servers.add(plainServer())).id;
    await store.queue.insert([message('M1')]);
  });
  afterEach(() => es.cleanup());

  describe('insert', () => {
    it('records each message queued with its recipients, once each, and a received event', async () => {
      await store.queue.insert([message('M2', T0 + 5, { recipients: ['x@example.test', 'x@example.test', 'w@example.test'], size: 42 })]);
      expect(await store.queue.get('M2')).toMatchObject({
        id: 'M2',
        serverId,
        status: 'queued',
        attempts: 0,
        nextAttemptAt: T0 + 5,
        receivedAt: T0 + 5,
        expiresAt: T0 + 5 + DAY,
        lastReply: null,
        body8bit: false,
        smtputf8: false,
      });
      expect(await store.queue.recipients('M2')).toEqual([
        { address: 'w@example.test', status: 'pending', reply: null },
        { address: 'x@example.test', status: 'pending', reply: null },
      ]);
      expect(await store.queue.events('M2')).toMatchObject([
        { messageId: 'M2', serverId, at: T0 + 5, kind: 'received', detail: 'from app@example.test to 3 recipient(s), 42 bytes' },
      ]);
    });

    it('counts the first attempt of a message its sender delivers at once, and keeps its flags', async () => {
      await store.queue.insert([message('TEST', T0, { status: 'sending', body8bit: true, smtputf8: true })]);
      expect(await store.queue.get('TEST')).toMatchObject({ status: 'sending', attempts: 1, body8bit: true, smtputf8: true });
    });

    it('commits the last body chunks with the records, and neither when one record cannot be made', async () => {
      await store.bodies.append({ messageId: 'M2', seq: 0, bytes: Buffer.from('first ') });
      await store.queue.insert([message('M2')], [{ messageId: 'M2', seq: 1, bytes: Buffer.from('last') }]);
      expect(await store.bodies.chunk('M2', 1)).toEqual(Buffer.from('last'));

      // M1 exists already: the batch fails as a whole.
      const batch = store.queue.insert([message('M3'), message('M1')], [{ messageId: 'M3', seq: 0, bytes: Buffer.from('body') }]);
      await expect(batch).rejects.toThrow();
      expect(await store.queue.get('M3')).toBeUndefined();
      expect(await store.bodies.has('M3')).toBe(false);
      expect(await store.queue.events('M3')).toEqual([]);
    });
  });

  describe('claims', () => {
    it('marks a waiting message sending and counts the attempt, once', async () => {
      expect(await store.queue.claim('M1', T0 + 1)).toMatchObject({ id: 'M1', status: 'sending', attempts: 1 });
      expect(await store.queue.claim('M1', T0 + 2)).toBeUndefined();
      expect(await store.queue.claim('unknown', T0 + 2)).toBeUndefined();
    });

    it('claims deferred mail but not held or finished mail', async () => {
      await store.queue.claim('M1', T0);
      await store.queue.recordAttempt('M1', later, T0);
      expect(await store.queue.claim('M1', T0 + 1)).toMatchObject({ status: 'sending', attempts: 2 });
      await store.queue.recordAttempt('M1', { kind: 'hold', reply: '535 5.7.3' }, T0 + 1);
      expect(await store.queue.claim('M1', T0 + 2)).toBeUndefined();
    });

    it('takes back a counted attempt, never below zero', async () => {
      await store.queue.claim('M1', T0);
      await store.queue.forgetAttempt('M1');
      expect((await store.queue.get('M1'))?.attempts).toBe(0);
      await store.queue.forgetAttempt('M1');
      expect((await store.queue.get('M1'))?.attempts).toBe(0);
    });

    it('reserves the recipients of a claim against the lane, and nothing for a message no longer waiting', async () => {
      const claim = await store.queue.claimAndReserve('M1', LANE, 2, T0);
      expect(claim?.message).toMatchObject({ id: 'M1', status: 'sending', attempts: 1 });
      expect(claim?.reservationId).toEqual(expect.any(Number));
      expect(await store.laneState.fitsAt(LANE, 1, 2, T0)).toBe(T0 + DAY);
      expect(await store.laneState.fitsAt(LANE, 1, 3, T0)).toBe(T0);
      expect(await store.queue.claimAndReserve('M1', LANE, 2, T0)).toBeUndefined();
      expect(await store.queue.claimAndReserve('unknown', LANE, 2, T0)).toBeUndefined();
      expect(await store.laneState.fitsAt(LANE, 1, 3, T0)).toBe(T0);
    });
  });

  describe('outcomes', () => {
    beforeEach(() => store.queue.claim('M1', T0));

    it('delivers a message every recipient accepted, with an event per recipient and the first reply', async () => {
      expect(await store.queue.recordAttempt('M1', { kind: 'done', delivered: [a, bOk], failed: [] }, T0 + 1)).toBe('delivered');
      expect(await store.queue.get('M1')).toMatchObject({ status: 'delivered', lastReply: a.reply, nextAttemptAt: T0 + 1 });
      expect(await store.queue.recipients('M1')).toEqual([
        { address: 'a@example.test', status: 'delivered', reply: a.reply },
        { address: 'b@example.test', status: 'delivered', reply: bOk.reply },
      ]);
      expect((await store.queue.events('M1')).map((e) => [e.kind, e.detail])).toEqual([
        ['received', 'from app@example.test to 2 recipient(s), 10 bytes'],
        ['delivered', `a@example.test: ${a.reply}`],
        ['delivered', `b@example.test: ${bOk.reply}`],
      ]);
      expect(await store.queue.anyFailed('M1')).toBe(false);
    });

    it('fails a message no recipient accepted, and delivers one some accepted', async () => {
      await store.queue.insert([message('M2')]);
      await store.queue.claim('M2', T0);
      expect(
        await store.queue.recordAttempt(
          'M2',
          { kind: 'done', delivered: [], failed: [{ ...bFailed, address: 'a@example.test' }, bFailed] },
          T0,
        ),
      ).toBe('failed');
      expect(await store.queue.recordAttempt('M1', { kind: 'done', delivered: [a], failed: [bFailed] }, T0)).toBe('delivered');
      expect(await store.queue.anyFailed('M1')).toBe(true);
      expect((await store.queue.get('M2'))?.lastReply).toBe(bFailed.reply);
    });

    it('defers the recipients left waiting, and finishes a deferral that leaves none', async () => {
      const partly: AttemptResult = { ...later, delivered: [a] };
      expect(await store.queue.recordAttempt('M1', partly, T0 + 1)).toBe('deferred');
      expect(await store.queue.get('M1')).toMatchObject({ status: 'deferred', nextAttemptAt: T0 + 60_000, lastReply: later.reply });
      expect(await store.queue.pendingRecipients('M1')).toEqual(['b@example.test']);
      expect((await store.queue.events('M1')).at(-1)).toMatchObject({
        kind: 'deferred',
        detail: `451 4.3.0 later (next attempt ${new Date(T0 + 60_000).toISOString()})`,
      });
      expect(await store.queue.nextDueAt(serverId)).toBe(T0 + 60_000);

      await store.queue.claim('M1', T0 + 60_000);
      expect(await store.queue.recordAttempt('M1', { ...later, failed: [bFailed] }, T0 + 60_001)).toBe('delivered');
      expect(await store.queue.get('M1')).toMatchObject({ lastReply: later.reply, nextAttemptAt: T0 + 60_001 });
      expect(await store.queue.nextDueAt(serverId)).toBeNull();
    });

    it('holds a message, and expires one with every waiting recipient failed', async () => {
      expect(await store.queue.recordAttempt('M1', { kind: 'hold', reply: '535 5.7.3 no' }, T0 + 1)).toBe('held');
      expect((await store.queue.events('M1')).at(-1)).toMatchObject({ kind: 'held', detail: '535 5.7.3 no', serverId });
      await store.queue.retryNow('M1', T0 + 2);
      await store.queue.claim('M1', T0 + 2);
      await store.queue.recordAttempt('M1', { ...later, delivered: [a] }, T0 + 3);
      await store.queue.claim('M1', T0 + 4);
      expect(await store.queue.recordAttempt('M1', { kind: 'expire', reply: 'expired after 1 day' }, T0 + 4)).toBe('failed');
      expect(await store.queue.recipients('M1')).toEqual([
        { address: 'a@example.test', status: 'delivered', reply: a.reply },
        { address: 'b@example.test', status: 'failed', reply: 'expired after 1 day' },
      ]);
      expect(await store.queue.get('M1')).toMatchObject({ status: 'failed', lastReply: 'expired after 1 day' });
    });

    it('owes a failure notice when the message finishes with a recipient failed for good', async () => {
      expect(await store.queue.recordOutcome('M1', { kind: 'done', delivered: [a], failed: [bFailed] }, T0 + 1, notice())).toEqual({
        status: 'delivered',
        owed: 'failed',
        noticeError: null,
      });
      expect(await store.queue.notices.owed()).toEqual([
        { messageId: 'M1', kind: 'failed', noticeId: 'N1', headers: Buffer.from('Subject: report\r\n\r\n'), owedAt: T0 + 1 },
      ]);
    });

    it('owes none when every recipient was delivered, or while a failed one waits for the rest', async () => {
      expect(await store.queue.recordOutcome('M1', { kind: 'done', delivered: [a, bOk], failed: [] }, T0, notice())).toMatchObject({
        owed: null,
      });
      await store.queue.insert([message('M2')]);
      await store.queue.claim('M2', T0);
      const partly = await store.queue.recordOutcome('M2', { ...later, failed: [bFailed] }, T0, notice({ noticeId: 'N2' }));
      expect(partly).toMatchObject({ status: 'deferred', owed: null });
      expect(await store.queue.notices.owed()).toEqual([]);
    });

    it('owes a delay notice for a deferral when asked, and never the same notice twice', async () => {
      expect(await store.queue.recordOutcome('M1', later, T0, notice({ failed: false, delayed: true }))).toMatchObject({
        status: 'deferred',
        owed: 'delayed',
      });
      await store.queue.claim('M1', T0 + 60_000);
      expect(
        await store.queue.recordOutcome('M1', later, T0 + 60_000, notice({ failed: false, delayed: true, noticeId: 'N9' })),
      ).toMatchObject({
        status: 'deferred',
        owed: null,
      });
      expect((await store.queue.notices.owed()).map((n) => [n.kind, n.noticeId])).toEqual([['delayed', 'N1']]);
    });

    it('keeps the outcome when its notice cannot be recorded, and says why', async () => {
      // Engine-specific in its setting up: the failure is made by dropping the table behind the seam.
      if (engine === 'sqlite') (store as SqliteStore).db.exec('DROP TABLE notices');
      else await (store as PostgresStore).pg.run('DROP TABLE notices');
      const recorded = await store.queue.recordOutcome('M1', { kind: 'done', delivered: [a], failed: [bFailed] }, T0 + 1, notice());
      expect(recorded).toMatchObject({ status: 'delivered', owed: null, noticeError: expect.stringMatching(/notices/) });
      expect(await statusOf('M1')).toBe('delivered');
      expect((await store.queue.recipients('M1')).map((r) => r.status)).toEqual(['delivered', 'failed']);
    });
  });

  describe('holds and retries', () => {
    let other: number;
    beforeEach(async () => {
      other = (await store.servers.add(plainServer({ name: 'other' }))).id;
      await store.queue.insert([message('M2', T0 + 2), message('M3', T0 + 1), queuedMessage('O1', other, { receivedAt: T0 })]);
      await store.queue.claim('M3', T0);
      await store.queue.recordAttempt('M3', later, T0);
    });

    it("holds a server's queued and deferred mail, not what is in flight or another server's", async () => {
      await store.queue.insert([message('S1', T0, { status: 'sending' })]);
      expect(await store.queue.holdServer(serverId, '535 5.7.3 revoked', T0 + 10)).toBe(3);
      expect((await store.queue.countsByStatus(serverId)).held).toBe(3);
      expect(await statusOf('S1')).toBe('sending');
      expect(await statusOf('O1')).toBe('queued');
      expect(await store.queue.get('M2')).toMatchObject({ lastReply: '535 5.7.3 revoked', nextAttemptAt: T0 + 10 });
      expect((await store.queue.events('M2')).at(-1)).toMatchObject({ kind: 'held', detail: '535 5.7.3 revoked', at: T0 + 10 });
      expect(await store.queue.nextDueAt(serverId)).toBeNull();
    });

    it('releases held mail oldest first, as many as asked or all', async () => {
      await store.queue.holdServer(serverId, '535', T0 + 10);
      expect(await store.queue.releaseHeld(serverId, T0 + 20, 1)).toBe(1);
      expect(await store.queue.get('M1')).toMatchObject({ status: 'queued', nextAttemptAt: T0 + 20 });
      expect((await store.queue.events('M1')).at(-1)).toMatchObject({ kind: 'released', detail: 'retrying held mail' });
      expect(await store.queue.releaseHeld(serverId, T0 + 30)).toBe(2);
      expect(await store.queue.releaseHeld(serverId, T0 + 30)).toBe(0);
      expect((await store.queue.countsByStatus(serverId)).queued).toBe(3);
    });

    it('retries one waiting message now, never one in flight or finished', async () => {
      expect(await store.queue.retryNow('M3', T0 + 5)).toBe(true);
      expect(await store.queue.get('M3')).toMatchObject({ status: 'queued', nextAttemptAt: T0 + 5 });
      await store.queue.claim('M3', T0 + 5);
      expect(await store.queue.retryNow('M3', T0 + 6)).toBe(false);
      expect(await store.queue.retryNow('unknown', T0 + 6)).toBe(false);
    });

    it('retries deferred and held mail of one server or all, or the held only', async () => {
      await store.queue.holdServer(other, '535', T0 + 3);
      expect(await store.queue.retryWaiting({ serverId, heldOnly: true }, 'admin@contoso.com', T0 + 4)).toBe(0);
      expect(await store.queue.retryWaiting({ heldOnly: true }, 'admin@contoso.com', T0 + 4)).toBe(1);
      expect((await store.queue.events('O1')).at(-1)).toMatchObject({
        kind: 'released',
        detail: 'retried by admin@contoso.com',
        serverId: other,
      });
      await store.queue.holdServer(other, '535', T0 + 5);
      expect(await store.queue.retryWaiting({ serverId }, 'cli', T0 + 6)).toBe(1);
      expect(await statusOf('M3')).toBe('queued');
      expect(await statusOf('O1')).toBe('held');
      expect(await store.queue.retryWaiting({}, 'cli', T0 + 7)).toBe(1);
      expect(await store.queue.countsByStatus()).toEqual({ queued: 4, deferred: 0, sending: 0, held: 0, delivered: 0, failed: 0 });
    });
  });

  describe('due mail', () => {
    it('gives the earliest next attempt of a server, waiting mail only', async () => {
      await store.queue.insert([message('M2', T0 - 5)]);
      expect(await store.queue.nextDueAt(serverId)).toBe(T0 - 5);
      await store.queue.claim('M2', T0);
      expect(await store.queue.nextDueAt(serverId)).toBe(T0);
      expect(await store.queue.nextDueAt(serverId + 100)).toBeNull();
    });
  });

  describe('removal, failures and recovery', () => {
    it('deletes a message with its recipients and body, never one in flight', async () => {
      await store.queue.insert([message('M2')], [{ messageId: 'M2', seq: 0, bytes: Buffer.from('body') }]);
      expect(await store.queue.remove('M2', T0 + 1)).toBe(true);
      expect(await store.queue.get('M2')).toBeUndefined();
      expect(await store.queue.recipients('M2')).toEqual([]);
      expect(await store.bodies.has('M2')).toBe(false);
      expect((await store.queue.events('M2')).at(-1)).toMatchObject({
        kind: 'deleted',
        detail: 'deleted by an admin',
        serverId,
        at: T0 + 1,
      });
      expect(await store.queue.remove('M2', T0 + 2)).toBe(false);
      await store.queue.claim('M1', T0);
      expect(await store.queue.remove('M1', T0 + 2)).toBe(false);
      expect(await statusOf('M1')).toBe('sending');
    });

    it("fails a server's waiting mail with its bodies, leaving mail in flight", async () => {
      await store.queue.insert(
        [message('M2'), message('M3'), message('S1', T0, { status: 'sending' })],
        [
          { messageId: 'M2', seq: 0, bytes: Buffer.from('two') },
          { messageId: 'S1', seq: 0, bytes: Buffer.from('in flight') },
        ],
      );
      await store.queue.holdServer(serverId, '535', T0);
      expect((await store.queue.failWaiting(serverId, 'server removed', T0 + 1)).sort()).toEqual(['M1', 'M2', 'M3']);
      expect(await store.queue.get('M2')).toMatchObject({ status: 'failed', lastReply: 'server removed' });
      expect((await store.queue.recipients('M2')).map((r) => [r.status, r.reply])).toEqual([
        ['failed', 'server removed'],
        ['failed', 'server removed'],
      ]);
      expect((await store.queue.events('M2')).at(-1)).toMatchObject({ kind: 'failed', detail: 'server removed', at: T0 + 1 });
      expect(await store.bodies.has('M2')).toBe(false);
      expect(await store.bodies.has('S1')).toBe(true);
      expect(await statusOf('S1')).toBe('sending');
      expect(await store.queue.failWaiting(serverId, 'again', T0 + 2)).toEqual([]);
    });

    it('marks a message lost without an attempt', async () => {
      await store.queue.claim('M1', T0);
      await store.queue.recordAttempt('M1', { ...later, delivered: [a] }, T0);
      await store.queue.markLost('M1', 'body missing', T0 + 1);
      expect(await store.queue.get('M1')).toMatchObject({ status: 'failed', lastReply: 'body missing', attempts: 1 });
      expect((await store.queue.recipients('M1')).map((r) => r.status)).toEqual(['delivered', 'failed']);
      expect((await store.queue.events('M1')).at(-1)).toMatchObject({ kind: 'failed', detail: 'body missing', serverId });
    });

    it('queues mail left in flight again at start-up, and names the mail that waits without a body', async () => {
      await store.queue.insert([message('M2'), message('DONE')]);
      await store.queue.claim('M2', T0);
      await store.queue.claim('DONE', T0);
      await store.queue.recordAttempt('DONE', { kind: 'done', delivered: [a, bOk], failed: [] }, T0);
      await store.bodies.append({ messageId: 'M1', seq: 0, bytes: Buffer.from('body') });
      expect(await store.queue.bodilessIds()).toEqual(['M2']);
      expect(await store.queue.requeueInFlight(T0 + 1)).toBe(1);
      expect(await store.queue.get('M2')).toMatchObject({ status: 'queued', nextAttemptAt: T0 + 1, attempts: 1 });
      expect((await store.queue.events('M2')).at(-1)).toMatchObject({ kind: 'requeued', serverId });
      expect(await store.queue.requeueInFlight(T0 + 2)).toBe(0);
    });
  });

  describe('events', () => {
    it('adds events of messages and servers, and tails them after an id', async () => {
      await store.queue.addEvent(null, serverId, 'released', 'retrying held mail', T0 + 1);
      await store.queue.addEvent('GONE', null, 'deleted', null, T0 + 2);
      const all = await store.queue.eventsSince(0);
      expect(all.map((e) => [e.messageId, e.serverId, e.kind, e.detail])).toEqual([
        ['M1', serverId, 'received', expect.any(String)],
        [null, serverId, 'released', 'retrying held mail'],
        ['GONE', null, 'deleted', null],
      ]);
      const first = all[0]?.id ?? 0;
      expect((await store.queue.eventsSince(first)).map((e) => e.kind)).toEqual(['released', 'deleted']);
      expect((await store.queue.eventsSince(first, 1)).map((e) => e.kind)).toEqual(['released']);
      expect(await store.queue.events('GONE')).toMatchObject([{ kind: 'deleted', at: T0 + 2 }]);
    });

    it('counts messages by status, of one server or all', async () => {
      const other = (await store.servers.add(plainServer({ name: 'other' }))).id;
      await store.queue.insert([queuedMessage('O1', other, { receivedAt: T0 }), message('M2')]);
      await store.queue.claim('M2', T0);
      expect(await store.queue.countsByStatus()).toEqual({ queued: 2, deferred: 0, sending: 1, held: 0, delivered: 0, failed: 0 });
      expect(await store.queue.countsByStatus(other)).toEqual({ queued: 1, deferred: 0, sending: 0, held: 0, delivered: 0, failed: 0 });
    });
  });
});

describe.skipIf(!ENGINES.includes('postgres'))('the queue shared by two instances (postgres)', () => {
  let es: EngineStore;
  let second: Store;
  let serverId: number;
  beforeEach(async () => {
    es = await openEngineStore('postgres');
    second = await openAnotherInstance(es, 'relay-second');
    serverId = (await es.store.servers.add(plainServer())).id;
    const ids = Array.from({ length: 20 }, (_, i) => `R${i}`);
    await es.store.queue.insert(ids.map((id) => queuedMessage(id, serverId, { receivedAt: T0, expiresAt: T0 + DAY })));
  });
  afterEach(async () => {
    await second.close();
    await es.cleanup();
  });

  it('gives each message to exactly one of two instances claiming it at the same moment', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => `R${i}`).flatMap((id) => [es.store.queue.claim(id, T0), second.queue.claim(id, T0)]),
    );
    for (let i = 0; i < 20; i++) {
      const pair = [results[2 * i], results[2 * i + 1]];
      expect(
        pair.filter((m) => m !== undefined),
        `R${i}`,
      ).toHaveLength(1);
    }
    expect((await es.store.queue.countsByStatus()).sending).toBe(20);
    expect((await es.store.queue.get('R0'))?.attempts).toBe(1);
  });

  it('reserves quota only for the claim that wins', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `R${i}`);
    const claims = await Promise.all(
      ids.flatMap((id) => [es.store.queue.claimAndReserve(id, LANE, 1, T0), second.queue.claimAndReserve(id, LANE, 1, T0)]),
    );
    expect(claims.filter((c) => c !== undefined)).toHaveLength(20);
    // 20 reserved: 5 more fit under 25, 6 do not.
    expect(await second.laneState.fitsAt(LANE, 5, 25, T0)).toBe(T0);
    expect(await second.laneState.fitsAt(LANE, 6, 25, T0)).toBe(T0 + DAY);
  });

  it('leaves a message another instance finished while this one marks it lost', async () => {
    await second.queue.claim('R0', T0);
    const done: AttemptResult = { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250 2.0.0 OK' }], failed: [] };
    await second.queue.recordAttempt('R0', done, T0 + 1);
    await es.store.queue.markLost('R0', 'message body missing at start-up', T0 + 2);
    expect(await es.store.queue.get('R0')).toMatchObject({ status: 'delivered', lastReply: '250 2.0.0 OK' });
    expect((await es.store.queue.events('R0')).map((e) => e.kind)).toEqual(['received', 'delivered']);
  });

  it('releases different held messages to two instances probing the same server at once', async () => {
    await es.store.queue.holdServer(serverId, '535', T0);
    const released = await Promise.all([es.store.queue.releaseHeld(serverId, T0 + 1, 1), second.queue.releaseHeld(serverId, T0 + 1, 1)]);
    expect(released).toEqual([1, 1]);
    expect((await es.store.queue.countsByStatus()).queued).toBe(2);
  });
});
