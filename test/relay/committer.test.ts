/**
 * Group commit over a real store: messages that arrive together are recorded
 * together, and one the store refuses fails alone.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommitter, type Committer } from '../../src/relay/committer.js';
import { createSpool } from '../../src/relay/spool.js';
import type { NewMessage } from '../../src/store/queue.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let committer: Committer;
let serverId: number;
let batches: string[][];

beforeEach(() => {
  fx = createFixture();
  serverId = fx.store.servers.add(plainServer()).id;
  batches = [];
  const spool = createSpool(path.join(fx.dir, 'spool'));
  committer = createCommitter(spool, fx.store.queue, (messages) => batches.push(messages.map((m) => m.id)));
});
afterEach(() => fx.cleanup());

const message = (id: string, overrides: Partial<NewMessage> = {}): NewMessage => queuedMessage(id, serverId, overrides);

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
  it('records messages that arrive together in one batch', async () => {
    // The first commit starts a batch at once; the ones after it wait and share the next.
    const results = await settle(['A', 'B', 'C'].map((id) => committer.commit(message(id))));
    expect(results).toEqual(['ok', 'ok', 'ok']);
    expect(batches).toEqual([['A'], ['B', 'C']]);
  });

  it('fails only the message the store refuses; the others of its batch are recorded', async () => {
    // C's email server was deleted while it was in DATA: its record breaks the foreign key.
    const results = await settle([
      committer.commit(message('A')),
      committer.commit(message('B')),
      committer.commit(message('C', { serverId: serverId + 100 })),
      committer.commit(message('D')),
    ]);
    expect(results[0]).toBe('ok');
    expect(results[1]).toBe('ok');
    expect(results[2]).toMatch(/FOREIGN KEY/);
    expect(results[3]).toBe('ok');
    expect(batches).toEqual([['A'], ['B', 'D']]);
    expect(
      fx.store.queue
        .list()
        .map((m) => m.id)
        .sort(),
    ).toEqual(['A', 'B', 'D']);
    expect(fx.store.queue.get('C')).toBeUndefined();
  });
});
