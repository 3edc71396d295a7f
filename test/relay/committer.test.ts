/**
 * Group commit over a real store: messages that arrive together are recorded
 * together with their last body chunks, one the store refuses fails alone
 * (and its earlier chunks go), and none is acknowledged before the WAL sync.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommitter, type Committer } from '../../src/relay/committer.js';
import type { BodyChunk } from '../../src/store/bodies.js';
import type { NewMessage } from '../../src/store/queue.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let committer: Committer;
let serverId: number;
let batches: string[][];
let syncs: number;

beforeEach(() => {
  fx = createFixture();
  serverId = fx.store.sync.servers.add(plainServer()).id;
  batches = [];
  syncs = 0;
  const database = {
    syncWal: async () => {
      syncs++;
      await fx.store.sync.database.syncWal();
    },
  };
  committer = createCommitter({ ...fx.store, database }, (messages) => batches.push(messages.map((m) => m.id)));
});
afterEach(() => fx.cleanup());

const message = (id: string, overrides: Partial<NewMessage> = {}): NewMessage => queuedMessage(id, serverId, overrides);
const last = (id: string, seq = 0): BodyChunk => ({ messageId: id, seq, bytes: Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`) });
const commit = (id: string, overrides: Partial<NewMessage> = {}): Promise<void> => committer.commit(message(id, overrides), last(id));

/** Settles every commit and reports each one as `ok` or its error. */
const settle = (ids: Promise<void>[]): Promise<string[]> =>
  Promise.all(
    ids.map((p) =>
      p.then(
        () => 'ok',
        (err: unknown) => (err as Error).message,
      ),
    ),
  );

describe('committer', () => {
  it('records messages that arrive together in one batch, with their bodies, and one WAL sync per batch', async () => {
    // The first commit starts a batch at once; the ones after it wait and share the next.
    const results = await settle(['A', 'B', 'C'].map((id) => commit(id)));
    expect(results).toEqual(['ok', 'ok', 'ok']);
    expect(batches).toEqual([['A'], ['B', 'C']]);
    expect(syncs).toBe(2);
    expect(fx.store.sync.bodies.chunk('B', 0)?.toString()).toBe('Subject: B\r\n\r\nbody\r\n');
  });

  it('fails only the message the store refuses, deleting its chunks; the others of its batch are recorded', async () => {
    // C's email server was deleted while it was in DATA: its record breaks the foreign key. Its first chunk was stored meanwhile.
    fx.store.sync.bodies.append({ messageId: 'C', seq: 0, bytes: Buffer.from('x'.repeat(300_000)) });
    const results = await settle([
      commit('A'),
      commit('B'),
      committer.commit(message('C', { serverId: serverId + 100 }), last('C', 1)),
      commit('D'),
    ]);
    expect(results[0]).toBe('ok');
    expect(results[1]).toBe('ok');
    expect(results[2]).toMatch(/FOREIGN KEY/);
    expect(results[3]).toBe('ok');
    expect(batches).toEqual([['A'], ['B', 'D']]);
    expect(
      fx.store.sync.queue
        .list()
        .map((m) => m.id)
        .sort(),
    ).toEqual(['A', 'B', 'D']);
    expect(fx.store.sync.queue.get('C')).toBeUndefined();
    expect(fx.store.sync.bodies.has('C')).toBe(false);
  });

  it('acknowledges nothing when the WAL sync fails, and keeps the records so nothing is lost', async () => {
    const failing = createCommitter(
      {
        ...fx.store,
        database: {
          syncWal: () => Promise.reject(new Error('EIO: i/o error, fdatasync')),
        },
      },
      (messages) => batches.push(messages.map((m) => m.id)),
    );
    expect(await settle([failing.commit(message('E'), last('E'))])).toEqual(['EIO: i/o error, fdatasync']);
    expect(batches).toEqual([]);
    expect(fx.store.sync.queue.get('E')?.status).toBe('queued');
    expect(fx.store.sync.bodies.has('E')).toBe(true);
  });
});
