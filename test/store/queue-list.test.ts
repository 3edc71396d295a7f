/**
 * The relay log's list, on both engines: newest first, filtered by server,
 * status, and a prefix of the sender or of a recipient in any case (LIKE
 * wildcards taken literally), paged by keyset, at most 200 unless asked.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import type { ListFilter } from '../../src/store/queue.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;

describe.each(ENGINES)('the relay log on %s', (engine) => {
  let es: EngineStore;
  let store: Store;
  let first: number;
  let second: number;
  const ids = async (filter: ListFilter = {}): Promise<string[]> => (await store.queue.list(filter)).map((m) => m.id);
  beforeEach(async () => {
    es = await openEngineStore(engine);
    store = es.store;
    first = (await store.servers.add(plainServer({ name: 'first' }))).id;
    second = (await store.servers.add(plainServer({ name: 'second' }))).id;
    await store.queue.insert([
      queuedMessage('A', first, { receivedAt: T0, mailFrom: 'Printer@Contoso.com', recipients: ['Alice@Fabrikam.com'] }),
      queuedMessage('B', first, {
        receivedAt: T0 + 1,
        mailFrom: 'erp@contoso.com',
        recipients: ['bob@fabrikam.com', 'carol@fabrikam.com'],
      }),
      queuedMessage('C', second, { receivedAt: T0 + 1, mailFrom: 'e_p%\\x@contoso.com', recipients: ['alice.smith@fabrikam.com'] }),
      queuedMessage('D', second, { receivedAt: T0 + 2, mailFrom: 'scanner@contoso.com', recipients: ['dave@fabrikam.com'] }),
    ]);
  });
  afterEach(() => es.cleanup());

  it('lists newest first, the later ID first among mail received at the same moment', async () => {
    expect(await ids()).toEqual(['D', 'C', 'B', 'A']);
    expect(await ids({ limit: 2 })).toEqual(['D', 'C']);
  });

  it('filters by server and by status', async () => {
    await store.queue.claim('B', T0 + 5);
    expect(await ids({ serverId: first })).toEqual(['B', 'A']);
    expect(await ids({ status: 'sending' })).toEqual(['B']);
    expect(await ids({ serverId: second, status: 'sending' })).toEqual([]);
  });

  it('matches senders and recipients that start with the text, in any case', async () => {
    expect(await ids({ sender: 'PRINTER' })).toEqual(['A']);
    expect(await ids({ sender: 'contoso' })).toEqual([]);
    expect(await ids({ recipient: 'alice' })).toEqual(['C', 'A']);
    expect(await ids({ recipient: 'CAROL@' })).toEqual(['B']);
    expect(await ids({ recipient: 'fabrikam' })).toEqual([]);
    expect(await ids({ sender: 'e', recipient: 'bob' })).toEqual(['B']);
  });

  it('takes LIKE wildcards and the escape character literally', async () => {
    expect(await ids({ sender: 'e_p' })).toEqual(['C']);
    expect(await ids({ sender: 'e_p%\\x' })).toEqual(['C']);
    expect(await ids({ sender: 'erp%' })).toEqual([]);
    expect(await ids({ sender: '%' })).toEqual([]);
    expect(await ids({ recipient: 'alice_' })).toEqual([]);
  });

  it('pages after the last message of the previous page, in the same order', async () => {
    const page = await store.queue.list({ limit: 2 });
    const last = page.at(-1);
    expect(last?.id).toBe('C');
    const next = { receivedAt: last?.receivedAt ?? 0, id: last?.id ?? '' };
    expect(await ids({ after: next, limit: 2 })).toEqual(['B', 'A']);
    expect(await ids({ after: next, serverId: second })).toEqual([]);
    expect(await ids({ after: { receivedAt: T0, id: 'A' } })).toEqual([]);
  });

  it('lists at most 200 unless asked for more', async () => {
    const many = Array.from({ length: 201 }, (_, i) => queuedMessage(`M${String(i).padStart(3, '0')}`, first, { receivedAt: T0 + 10 + i }));
    await store.queue.insert(many);
    expect(await ids()).toHaveLength(200);
    expect((await ids())[0]).toBe('M200');
    expect(await ids({ limit: 1000 })).toHaveLength(205);
  });
});
