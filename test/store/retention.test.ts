/**
 * Retention of the relay log, on both engines: finished mail and stray events
 * older than RELAY365_RETENTION_DAYS are pruned, hourly, while waiting and
 * younger mail stays, also when two instances prune at once; the database's
 * size; and the relay log's sender and recipient filters, by prefix.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOURNAL_SIZE_LIMIT_BYTES } from '../../src/store/db.js';
import { listQuery, type AttemptResult, type ListFilter, type NewMessage } from '../../src/store/queue.js';
import { createRetentionTimer } from '../../src/relay/retention-timer.js';
import type { Logger } from '../../src/log.js';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse('2030-06-01T12:00:00Z');

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
async function seed({ servers, queue }: Store): Promise<void> {
  await servers.add(plainServer());
  const old = NOW - 40 * DAY;
  await queue.insert([
    message('OLDDELIVERED', old),
    message('OLDFAILED', old),
    message('OLDWAITING', old),
    message('OLDHELD', old),
    message('YOUNGDELIVERED', NOW - 10 * DAY),
  ]);
  await queue.recordAttempt('OLDDELIVERED', done, old + 60_000);
  await queue.recordAttempt('YOUNGDELIVERED', done, NOW - 10 * DAY + 60_000);
  await queue.recordAttempt('OLDFAILED', { kind: 'expire', reply: 'expired' }, old + 5 * DAY);
  await queue.recordAttempt('OLDWAITING', { kind: 'defer', nextAttemptAt: NOW + 60_000, reply: '451 4.7.500' }, old + 60_000);
  await queue.recordAttempt('OLDHELD', { kind: 'hold', reply: '535 5.7.139' }, old + 60_000);
  // A deleted message's event, a server event, and a young one of a deleted message.
  await queue.addEvent('GONE1', 1, 'deleted', 'deleted by an admin', old);
  await queue.addEvent(null, 1, 'released', 'retrying held mail', old);
  await queue.addEvent('GONE2', 1, 'deleted', 'deleted by an admin', NOW - DAY);
}

const done: AttemptResult = { kind: 'done', delivered: [{ address: 'alice@fabrikam.com', reply: '250 2.0.0 OK' }], failed: [] };

const explain = (f: Fixture, filter: ListFilter): string[] => {
  const { sql, params } = listQuery(filter);
  return (f.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
};

describe.each(ENGINES)('retention (%s)', (engine) => {
  let es: EngineStore | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await es?.cleanup();
    es = undefined;
  });
  const openStore = async (): Promise<Store> => {
    es = await openEngineStore(engine);
    return es.store;
  };

  it('prunes delivered and failed mail older than the retention with its recipients and events, keeping waiting and younger mail', async () => {
    const store = await openStore();
    await seed(store);
    const { queue } = store;
    // Batches of 2 rows: the run goes on until nothing older is left.
    const timer = createRetentionTimer({ retention: store.retention, log, retentionDays: 30, now: () => NOW, batchSize: 2 });
    expect(await timer.runOnce()).toEqual({ messages: 2, events: 6 });

    for (const id of ['OLDDELIVERED', 'OLDFAILED']) {
      expect(await queue.get(id)).toBeUndefined();
      expect(await queue.recipients(id)).toEqual([]);
      expect(await queue.events(id)).toEqual([]);
    }
    expect(await queue.get('OLDWAITING')).toMatchObject({ status: 'deferred' });
    expect(await queue.get('OLDHELD')).toMatchObject({ status: 'held' });
    expect(await queue.get('YOUNGDELIVERED')).toMatchObject({ status: 'delivered' });
    expect(await queue.recipients('YOUNGDELIVERED')).toEqual([
      { address: 'alice@fabrikam.com', status: 'delivered', reply: '250 2.0.0 OK' },
    ]);
    expect((await queue.events('OLDWAITING')).map((e) => e.kind)).toEqual(['received', 'deferred']);
    expect((await queue.events('YOUNGDELIVERED')).map((e) => e.kind)).toEqual(['received', 'delivered']);
    const orphans = (await queue.eventsSince(0, 1000)).filter((e) => e.messageId === null || e.messageId.startsWith('GONE'));
    expect(orphans.map((e) => e.messageId)).toEqual(['GONE2']);
    expect(logLines.some((l) => l.includes('pruned the relay log'))).toBe(true);
    expect(await timer.runOnce()).toEqual({ messages: 0, events: 0 });
  });

  it('keeps everything younger than RELAY365_RETENTION_DAYS', async () => {
    const store = await openStore();
    await seed(store);
    const timer = createRetentionTimer({ retention: store.retention, log, retentionDays: 60, now: () => NOW });
    expect(await timer.runOnce()).toEqual({ messages: 0, events: 0 });
    expect(await store.queue.get('OLDDELIVERED')).toMatchObject({ status: 'delivered' });
  });

  it('deletes at most the batch’s limit of messages, and of stray events once no old message is left', async () => {
    const store = await openStore();
    await seed(store);
    const cutoff = NOW - 30 * DAY;
    const batch = () => store.retention.pruneBatch(cutoff, 1);
    expect(await batch()).toEqual({ messages: 1, events: 2 });
    // A full batch of messages: the stray events wait.
    expect(await batch()).toEqual({ messages: 1, events: 2 });
    // No old message left: stray events, as many as the limit.
    expect(await batch()).toEqual({ messages: 0, events: 1 });
    expect(await batch()).toEqual({ messages: 0, events: 1 });
    expect(await batch()).toEqual({ messages: 0, events: 0 });
  });

  it('prunes each message once when two instances prune at once', async () => {
    const store = await openStore();
    const { servers, queue, retention } = store;
    await servers.add(plainServer());
    const ids = Array.from({ length: 12 }, (_, i) => `OLD${i}`);
    await queue.insert(ids.map((id) => message(id, NOW - 40 * DAY)));
    for (const id of ids) await queue.recordAttempt(id, done, NOW - 40 * DAY + 60_000);
    // Connections opened beforehand, so that the batches below do run at the same time.
    await Promise.all(Array.from({ length: 10 }, () => retention.stats()));
    const results = await Promise.all(Array.from({ length: 4 }, () => retention.pruneBatch(NOW - 30 * DAY, 3)));
    expect(results.reduce((sum, r) => sum + r.messages, 0)).toBe(12);
    expect(results.reduce((sum, r) => sum + r.events, 0)).toBe(24);
    for (const id of ids) expect(await queue.get(id)).toBeUndefined();
  });

  it('reports the database’s size and the messages it holds', async () => {
    const store = await openStore();
    expect(await store.retention.stats()).toEqual({ bytes: expect.any(Number), messages: 0 });
    await seed(store);
    const { bytes, messages } = await store.retention.stats();
    expect(messages).toBe(5);
    expect(bytes).toBeGreaterThan(0);
    await store.retention.checkpoint();
    await createRetentionTimer({ retention: store.retention, log, retentionDays: 30, now: () => NOW }).runOnce();
    expect((await store.retention.stats()).messages).toBe(3);
  });

  it('runs once at start and then every hour on the clock it is given, and no more once stopped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = await openStore();
    await store.servers.add(plainServer());
    const clock = { now: NOW };
    const { queue } = store;
    await queue.insert([message('FIRST', NOW - 31 * DAY), message('SECOND', NOW - 29 * DAY)]);
    await queue.recordAttempt('FIRST', { kind: 'expire', reply: 'expired' }, NOW - 26 * DAY);
    await queue.recordAttempt('SECOND', { kind: 'expire', reply: 'expired' }, NOW - 24 * DAY);
    // A run ends with its checkpoint: told here, so the test waits for the store (which may answer later), not a clock.
    const runs: number[] = [];
    let ran = (): void => undefined;
    const nextRun = (): Promise<void> =>
      new Promise((resolve) => {
        ran = resolve;
      });
    const retention = {
      pruneBatch: store.retention.pruneBatch,
      checkpoint: async () => {
        await store.retention.checkpoint();
        runs.push(clock.now);
        ran();
      },
    };
    // After a run: its promise settles and the next run is scheduled (a real turn of the event loop).
    const settled = () => new Promise((resolve) => setImmediate(resolve));
    const timer = createRetentionTimer({ retention, log, retentionDays: 30, now: () => clock.now });
    let run = nextRun();
    timer.start();
    await run;
    await settled();
    expect(await queue.get('FIRST')).toBeUndefined();
    expect(await queue.get('SECOND')).toBeDefined();
    clock.now += 2 * DAY;
    run = nextRun();
    await vi.advanceTimersByTimeAsync(59 * 60_000);
    expect(runs).toHaveLength(1);
    expect(await queue.get('SECOND')).toBeDefined();
    await vi.advanceTimersByTimeAsync(60_000);
    await run;
    await settled();
    expect(await queue.get('SECOND')).toBeUndefined();
    await timer.stop();
    await vi.advanceTimersByTimeAsync(3 * 60 * 60_000);
    expect(runs).toEqual([NOW, NOW + 2 * DAY]);
  });

  it('matches senders and recipients that start with the text, in any case, with LIKE wildcards taken literally', async () => {
    const store = await openStore();
    await store.servers.add(plainServer());
    await store.queue.insert([
      message('A', NOW, 'Printer@Contoso.com', ['Alice@Fabrikam.com']),
      message('B', NOW + 1, 'erp@contoso.com', ['bob@fabrikam.com']),
    ]);
    const ids = async (filter: ListFilter): Promise<string[]> => (await store.queue.list(filter)).map((m) => m.id);
    expect(await ids({ recipient: 'alice@' })).toEqual(['A']);
    expect(await ids({ recipient: 'fabrikam' })).toEqual([]);
    expect(await ids({ sender: 'PRINTER' })).toEqual(['A']);
    expect(await ids({ sender: 'e_p' })).toEqual([]);
    expect(await ids({ sender: '%' })).toEqual([]);
  });
});

describe('retention on SQLite', () => {
  let fx: Fixture | undefined;
  afterEach(() => {
    vi.useRealTimers();
    fx?.cleanup();
  });

  // SQLite-specific: reads SQLite's query plans (EXPLAIN QUERY PLAN).
  it('serves the recipient filter from an index, never a scan of recipients', () => {
    fx = createFixture();
    const plan = explain(fx, { recipient: 'alice' });
    expect(plan).toContainEqual(
      expect.stringMatching(/^SEARCH recipients USING (COVERING )?INDEX recipients_address \(address>\? AND address<\?\)/),
    );
    expect(plan.filter((d) => /^SCAN/.test(d))).toEqual([]);
  });

  // SQLite-specific: reads SQLite's query plans (EXPLAIN QUERY PLAN).
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

  it('logs a failed run and tries again at the next one instead of stopping the relay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    fx = createFixture();
    const timer = createRetentionTimer({ retention: fx.store.retention, log, retentionDays: 30, now: () => NOW });
    // SQLite-specific: the failure is made by closing the handle behind the seam.
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

  // SQLite-specific: reads a SQLite pragma.
  it('keeps the write-ahead log file bounded (journal_size_limit)', () => {
    fx = createFixture();
    expect(fx.store.db.pragma('journal_size_limit', { simple: true })).toBe(JOURNAL_SIZE_LIMIT_BYTES);
    expect(JOURNAL_SIZE_LIMIT_BYTES).toBe(32 * 1024 * 1024);
  });
});
