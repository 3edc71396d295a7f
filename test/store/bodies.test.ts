/**
 * Message bodies in the database, on both engines: chunks appended while
 * DATA streams and read back one at a time, removed with their message, and
 * the orphans a crash leaves (no message waiting or in flight) removed at
 * start-up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const T0 = 1_700_000_000_000;

describe.each(ENGINES)('message bodies on %s', (engine) => {
  let es: EngineStore;
  let store: Store;
  let serverId: number;
  /** A message recorded with its body of `chunks`: all but the last appended, the last with the record. */
  const accept = async (id: string, ...chunks: string[]): Promise<void> => {
    const bytes = chunks.map((text, seq) => ({ messageId: id, seq, bytes: Buffer.from(text) }));
    for (const chunk of bytes.slice(0, -1)) await store.bodies.append(chunk);
    await store.queue.insert([queuedMessage(id, serverId, { receivedAt: T0 })], bytes.slice(-1));
  };
  beforeEach(async () => {
    es = await openEngineStore(engine);
    store = es.store;
    serverId = (await store.servers.add(plainServer())).id;
  });
  afterEach(() => es.cleanup());

  it('reads a body back chunk by chunk, and nothing past its last chunk', async () => {
    const big = Buffer.alloc(300_000, 0xab);
    await store.bodies.append({ messageId: 'M1', seq: 0, bytes: Buffer.from([0, 1, 2, 255]) });
    await store.queue.insert([queuedMessage('M1', serverId)], [{ messageId: 'M1', seq: 1, bytes: big }]);
    expect(await store.bodies.chunk('M1', 0)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await store.bodies.chunk('M1', 1)).toEqual(big);
    expect(await store.bodies.chunk('M1', 2)).toBeUndefined();
    expect(await store.bodies.chunk('unknown', 0)).toBeUndefined();
  });

  it('says whether a message has a body, and deletes it', async () => {
    await accept('M1', 'a', 'b');
    expect(await store.bodies.has('M1')).toBe(true);
    expect(await store.bodies.has('M2')).toBe(false);
    await store.bodies.remove('M1');
    expect(await store.bodies.has('M1')).toBe(false);
    expect(await store.bodies.chunk('M1', 1)).toBeUndefined();
    await store.bodies.remove('M1');
  });

  it('refuses a chunk stored twice', async () => {
    await store.bodies.append({ messageId: 'M1', seq: 0, bytes: Buffer.from('a') });
    await expect(store.bodies.append({ messageId: 'M1', seq: 0, bytes: Buffer.from('b') })).rejects.toThrow();
    expect(await store.bodies.chunk('M1', 0)).toEqual(Buffer.from('a'));
  });

  it('removes the bodies of messages neither waiting nor in flight, counting messages, not chunks', async () => {
    await accept('QUEUED', 'q1', 'q2');
    await accept('SENDING', 's');
    await accept('DEFERRED', 'd');
    await accept('HELD', 'h');
    await accept('DELIVERED', 'x1', 'x2');
    await accept('FAILED', 'f');
    await store.queue.claim('SENDING', T0);
    await store.queue.claim('DEFERRED', T0);
    await store.queue.recordAttempt('DEFERRED', { kind: 'defer', nextAttemptAt: T0 + 60_000, reply: '451' }, T0);
    await store.queue.claim('HELD', T0);
    await store.queue.recordAttempt('HELD', { kind: 'hold', reply: '535' }, T0);
    await store.queue.claim('DELIVERED', T0);
    await store.queue.recordAttempt(
      'DELIVERED',
      { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250' }], failed: [] },
      T0,
    );
    await store.queue.markLost('FAILED', 'lost', T0);
    // A client that went away mid-DATA: chunks and no record.
    await store.bodies.append({ messageId: 'CUT', seq: 0, bytes: Buffer.from('c1') });
    await store.bodies.append({ messageId: 'CUT', seq: 1, bytes: Buffer.from('c2') });

    expect(await store.bodies.removeOrphans()).toBe(3);
    for (const id of ['QUEUED', 'SENDING', 'DEFERRED', 'HELD']) expect(await store.bodies.has(id), id).toBe(true);
    for (const id of ['DELIVERED', 'FAILED', 'CUT']) expect(await store.bodies.has(id), id).toBe(false);
    expect(await store.bodies.chunk('QUEUED', 1)).toEqual(Buffer.from('q2'));
    expect(await store.bodies.removeOrphans()).toBe(0);
  });
});
