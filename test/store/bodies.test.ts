/**
 * Message bodies in the database, on both engines: chunks appended while
 * DATA streams and read back one at a time, removed with their message, and
 * the orphans a crash leaves (no message waiting or in flight) removed at
 * start-up, except those another running instance is still receiving.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_INSTANCE_ID, type SqliteStore, type Store } from '../../src/store/index.js';
import { MEMBER_STALE_MS } from '../../src/store/instances.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import { ENGINES, openAnotherInstance, openEngineStore, type EngineStore } from '../helpers/engines.js';
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
  /** The rows a statement without parameters returns, on either engine. */
  const sql = async (text: string): Promise<unknown[]> =>
    engine === 'sqlite' ? (store as SqliteStore).db.prepare(text).all() : (store as PostgresStore).pg.rows(text);
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

    expect(await store.bodies.removeOrphans(T0)).toBe(3);
    for (const id of ['QUEUED', 'SENDING', 'DEFERRED', 'HELD']) expect(await store.bodies.has(id), id).toBe(true);
    for (const id of ['DELIVERED', 'FAILED', 'CUT']) expect(await store.bodies.has(id), id).toBe(false);
    expect(await store.bodies.chunk('QUEUED', 1)).toEqual(Buffer.from('q2'));
    expect(await store.bodies.removeOrphans(T0)).toBe(0);
  });

  it('names the instance receiving each chunk, the last one recorded with the message too', async () => {
    const other = await openAnotherInstance(es, 'relay-b');
    try {
      await other.bodies.append({ messageId: 'M1', seq: 0, bytes: Buffer.from('a') });
      await other.queue.insert([queuedMessage('M1', serverId)], [{ messageId: 'M1', seq: 1, bytes: Buffer.from('b') }]);
    } finally {
      await other.close();
    }
    await accept('M2', 'a', 'b');
    expect(await sql('SELECT message_id, seq, received_by FROM message_bodies ORDER BY message_id, seq')).toEqual([
      { message_id: 'M1', seq: 0, received_by: 'relay-b' },
      { message_id: 'M1', seq: 1, received_by: 'relay-b' },
      { message_id: 'M2', seq: 0, received_by: DEFAULT_INSTANCE_ID },
      { message_id: 'M2', seq: 1, received_by: DEFAULT_INSTANCE_ID },
    ]);
  });

  describe('orphans of other instances', () => {
    const others: Store[] = [];
    /** Another instance, its chunk of message `id` appended (its DATA still streaming), its member row as `member` leaves it. */
    const receiving = async (instanceId: string, id: string, member: (s: Store) => Promise<void>): Promise<void> => {
      const other = await openAnotherInstance(es, instanceId);
      others.push(other);
      await member(other);
      await other.bodies.append({ messageId: id, seq: 0, bytes: Buffer.from(id) });
    };
    afterEach(async () => {
      for (const other of others.splice(0)) await other.close();
    });

    it("leaves a running instance's chunks alone until its heartbeat is stale, and removes those of instances gone, stopped or unknown", async () => {
      await store.bodies.append({ messageId: 'OWN', seq: 0, bytes: Buffer.from('own') });
      await receiving('relay-live', 'LIVE', async (s) => {
        await s.instances.join('relay-live', '1.0.0', T0, T0);
      });
      await receiving('relay-stale', 'STALE', async (s) => {
        await s.instances.join('relay-stale', '1.0.0', T0 - MEMBER_STALE_MS - 1, T0);
      });
      await receiving('relay-stopped', 'STOPPED', async (s) => {
        await s.instances.join('relay-stopped', '1.0.0', T0, T0);
        await s.instances.leave('relay-stopped', T0);
      });
      await receiving('relay-unknown', 'UNKNOWN', async () => undefined);
      // A chunk from before chunks named their receiver.
      await store.bodies.append({ messageId: 'OLDER', seq: 0, bytes: Buffer.from('older') });
      expect(await sql("UPDATE message_bodies SET received_by = NULL WHERE message_id = 'OLDER' RETURNING seq")).toHaveLength(1);

      expect(await store.bodies.removeOrphans(T0 + MEMBER_STALE_MS)).toBe(5);
      for (const id of ['OWN', 'STALE', 'STOPPED', 'UNKNOWN', 'OLDER']) expect(await store.bodies.has(id), id).toBe(false);
      expect(await store.bodies.has('LIVE')).toBe(true);
      // Its DATA ended, its record came with its last chunk: no longer an orphan, whoever starts up.
      const live = others[0] as Store;
      await live.queue.insert(
        [queuedMessage('LIVE', serverId, { receivedAt: T0 })],
        [{ messageId: 'LIVE', seq: 1, bytes: Buffer.from('end') }],
      );
      expect(await store.bodies.removeOrphans(T0 + MEMBER_STALE_MS + 1)).toBe(0);
      expect(await store.bodies.chunk('LIVE', 1)).toEqual(Buffer.from('end'));
    });

    it("removes a running instance's chunks once its heartbeat is older than MEMBER_STALE_MS", async () => {
      await receiving('relay-live', 'LIVE', async (s) => {
        await s.instances.join('relay-live', '1.0.0', T0, T0);
      });
      expect(await store.bodies.removeOrphans(T0 + MEMBER_STALE_MS)).toBe(0);
      expect(await store.bodies.removeOrphans(T0 + MEMBER_STALE_MS + 1)).toBe(1);
      expect(await store.bodies.has('LIVE')).toBe(false);
    });
  });
});
