import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOURNAL_SIZE_LIMIT_BYTES } from '../../src/store/db.js';
import { listQuery, type AttemptResult, type ListFilter, type NewMessage } from '../../src/store/queue.js';
import { createRetentionTimer } from '../../src/relay/retention-timer.js';
import type { Logger } from '../../src/log.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse('2030-06-01T12:00:00Z');

let fx: Fixture;
afterEach(() => {
  vi.useRealTimers();
  fx?.cleanup();
});

const logLines: string[] = [];
const log: Logger = {
  debug: () => undefined,
  info: (m, f) => void logLines.push(JSON.stringify({ m, ...f })),
  warn: () => undefined,
  error: (m, f) => void logLines.push(JSON.stringify({ m, ...f })),
  child: () => log,
};

function message(id: string, receivedAt: number, from = 'erp@contoso.com', to = ['alice@fabrikam.com']): NewMessage {
  return queuedMessage(id, 1, { mailFrom: from, recipients: to, size: 100, subject: id, receivedAt, expiresAt: receivedAt + 5 * DAY });
}

/** Old and young mail in every state, and events that belong to no message. */
function seed(f: Fixture): void {
  const { servers, queue } = f.store.sync;
  servers.add(plainServer());
  const old = NOW - 40 * DAY;
  queue.insert([
    message('OLDDELIVERED', old),
    message('OLDFAILED', old),
    message('OLDWAITING', old),
    message('OLDHELD', old),
    message('YOUNGDELIVERED', NOW - 10 * DAY),
  ]);
  const done: AttemptResult = { kind: 'done', delivered: [{ address: 'alice@fabrikam.com', reply: '250 2.0.0 OK' }], failed: [] };
  queue.recordAttempt('OLDDELIVERED', done, old + 60_000);
  queue.recordAttempt('YOUNGDELIVERED', done, NOW - 10 * DAY + 60_000);
  queue.recordAttempt('OLDFAILED', { kind: 'expire', reply: 'expired' }, old + 5 * DAY);
  queue.recordAttempt('OLDWAITING', { kind: 'defer', nextAttemptAt: NOW + 60_000, reply: '451 4.7.500' }, old + 60_000);
  queue.recordAttempt('OLDHELD', { kind: 'hold', reply: '535 5.7.139' }, old + 60_000);
  // A deleted message's event, a server event, and a young one of a deleted message.
  queue.addEvent('GONE1', 1, 'deleted', 'deleted by an admin', old);
  queue.addEvent(null, 1, 'released', 'retrying held mail', old);
  queue.addEvent('GONE2', 1, 'deleted', 'deleted by an admin', NOW - DAY);
}

const explain = (f: Fixture, filter: ListFilter): string[] => {
  const { sql, params } = listQuery(filter);
  return (f.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
};

describe('retention', () => {
  it('prunes delivered and failed mail older than the retention with its recipients and events, keeping waiting and younger mail', async () => {
    fx = createFixture();
    seed(fx);
    const { queue } = fx.store.sync;
    // Batches of 2 rows: the run goes on until nothing older is left.
    const timer = createRetentionTimer({ retention: fx.store.retention, log, retentionDays: 30, now: () => NOW, batchSize: 2 });
    expect(await timer.runOnce()).toEqual({ messages: 2, events: 6 });

    for (const id of ['OLDDELIVERED', 'OLDFAILED']) {
      expect(queue.get(id)).toBeUndefined();
      expect(queue.recipients(id)).toEqual([]);
      expect(queue.events(id)).toEqual([]);
    }
    expect(queue.get('OLDWAITING')).toMatchObject({ status: 'deferred' });
    expect(queue.get('OLDHELD')).toMatchObject({ status: 'held' });
    expect(queue.get('YOUNGDELIVERED')).toMatchObject({ status: 'delivered' });
    expect(queue.recipients('YOUNGDELIVERED')).toEqual([{ address: 'alice@fabrikam.com', status: 'delivered', reply: '250 2.0.0 OK' }]);
    expect(queue.events('OLDWAITING').map((e) => e.kind)).toEqual(['received', 'deferred']);
    expect(queue.events('YOUNGDELIVERED').map((e) => e.kind)).toEqual(['received', 'delivered']);
    const orphans = queue.eventsSince(0, 1000).filter((e) => e.messageId === null || e.messageId.startsWith('GONE'));
    expect(orphans.map((e) => e.messageId)).toEqual(['GONE2']);
    expect(logLines.some((l) => l.includes('pruned the relay log'))).toBe(true);
    expect(await timer.runOnce()).toEqual({ messages: 0, events: 0 });
  });

  it('keeps everything younger than RELAY365_RETENTION_DAYS', async () => {
    fx = createFixture();
    seed(fx);
    const timer = createRetentionTimer({ retention: fx.store.retention, log, retentionDays: 60, now: () => NOW });
    expect(await timer.runOnce()).toEqual({ messages: 0, events: 0 });
    expect(fx.store.sync.queue.get('OLDDELIVERED')).toMatchObject({ status: 'delivered' });
  });

  it('runs once at start and then every hour on the clock it is given', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    fx = createFixture();
    fx.store.sync.servers.add(plainServer());
    const clock = { now: NOW };
    const { queue } = fx.store.sync;
    queue.insert([message('FIRST', NOW - 31 * DAY), message('SECOND', NOW - 29 * DAY)]);
    queue.recordAttempt('FIRST', { kind: 'expire', reply: 'expired' }, NOW - 26 * DAY);
    queue.recordAttempt('SECOND', { kind: 'expire', reply: 'expired' }, NOW - 24 * DAY);
    const timer = createRetentionTimer({ retention: fx.store.retention, log, retentionDays: 30, now: () => clock.now });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.get('FIRST')).toBeUndefined();
    expect(queue.get('SECOND')).toBeDefined();
    clock.now += 2 * DAY;
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    expect(queue.get('SECOND')).toBeDefined();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(queue.get('SECOND')).toBeUndefined();
    await timer.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('logs a failed run and tries again at the next one instead of stopping the relay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    fx = createFixture();
    const timer = createRetentionTimer({ retention: fx.store.retention, log, retentionDays: 30, now: () => NOW });
    fx.store.db.close();
    logLines.length = 0;
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(logLines).toEqual([expect.stringContaining('pruning the relay log failed; retrying at the next run')]);
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(logLines).toHaveLength(2);
    await timer.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('serves the recipient filter from an index, never a scan of recipients', () => {
    fx = createFixture();
    const plan = explain(fx, { recipient: 'alice' });
    expect(plan).toContainEqual(
      expect.stringMatching(/^SEARCH recipients USING (COVERING )?INDEX recipients_address \(address>\? AND address<\?\)/),
    );
    expect(plan.filter((d) => /^SCAN/.test(d))).toEqual([]);
  });

  it.each<[string, ListFilter, RegExp]>([
    ['status', { status: 'failed' }, /^SEARCH messages USING INDEX messages_status_received \(status=\?\)/],
    ['server', { serverId: 1 }, /^SEARCH messages USING INDEX messages_server_received \(server_id=\?\)/],
    ['sender', { sender: 'erp@' }, /^SEARCH messages USING INDEX messages_sender \(mail_from>\? AND mail_from<\?\)/],
  ])('serves the relay log filter by %s from an index', (_name, filter, search) => {
    fx = createFixture();
    const plan = explain(fx, filter);
    expect(plan).toContainEqual(expect.stringMatching(search));
    expect(plan.filter((d) => /^SCAN/.test(d))).toEqual([]);
  });

  it('matches senders and recipients that start with the text, in any case, with LIKE wildcards taken literally', () => {
    fx = createFixture();
    fx.store.sync.servers.add(plainServer());
    fx.store.sync.queue.insert([
      message('A', NOW, 'Printer@Contoso.com', ['Alice@Fabrikam.com']),
      message('B', NOW + 1, 'erp@contoso.com', ['bob@fabrikam.com']),
    ]);
    const ids = (filter: ListFilter): string[] => fx.store.sync.queue.list(filter).map((m) => m.id);
    expect(ids({ recipient: 'alice@' })).toEqual(['A']);
    expect(ids({ recipient: 'fabrikam' })).toEqual([]);
    expect(ids({ sender: 'PRINTER' })).toEqual(['A']);
    expect(ids({ sender: 'e_p' })).toEqual([]);
    expect(ids({ sender: '%' })).toEqual([]);
  });

  it('keeps the write-ahead log file bounded (journal_size_limit)', () => {
    fx = createFixture();
    expect(fx.store.db.pragma('journal_size_limit', { simple: true })).toBe(JOURNAL_SIZE_LIMIT_BYTES);
    expect(JOURNAL_SIZE_LIMIT_BYTES).toBe(32 * 1024 * 1024);
  });
});
