/**
 * The per-server token caches on both engines: what MSAL serialized is read
 * back as saved, the last save wins (also when two save at once), the value
 * is sealed with the store's key, and a cache goes with its server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { ENGINES, openEngineStore, type EngineStore } from '../helpers/engines.js';
import { plainServer } from '../helpers/fixture.js';

describe.each(ENGINES)('%s', (engine) => {
  let es: EngineStore;
  let store: Store;
  let serverId: number;
  beforeEach(async () => {
    es = await openEngineStore(engine);
    store = es.store;
    serverId = (await store.servers.add(plainServer({ method: 'office365' }))).id;
  });
  afterEach(() => es.cleanup());

  it('has no cache for a server that never saved one', async () => {
    expect(await store.tokenCaches.load(serverId)).toBeNull();
    expect(await store.tokenCaches.load(999)).toBeNull();
  });

  it('reads back the last cache saved', async () => {
    await store.tokenCaches.save(serverId, '{"RefreshToken":{"one":{}}}');
    expect(await store.tokenCaches.load(serverId)).toBe('{"RefreshToken":{"one":{}}}');
    await store.tokenCaches.save(serverId, '{"RefreshToken":{"two":{}}}');
    expect(await store.tokenCaches.load(serverId)).toBe('{"RefreshToken":{"two":{}}}');
  });

  it('keeps one of the caches saved at once, without an error', async () => {
    const saved = ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'];
    await Promise.all(saved.map((cache) => store.tokenCaches.save(serverId, cache)));
    expect(saved).toContain(await store.tokenCaches.load(serverId));
  });

  it('keeps each server its own cache', async () => {
    const other = (await store.servers.add(plainServer({ name: 'other', method: 'office365' }))).id;
    await store.tokenCaches.save(serverId, '{"mine":true}');
    await store.tokenCaches.save(other, '{"other":true}');
    expect(await store.tokenCaches.load(serverId)).toBe('{"mine":true}');
    expect(await store.tokenCaches.load(other)).toBe('{"other":true}');
  });

  it('seals the cache with the store key', async () => {
    await store.tokenCaches.save(serverId, '{"secret":"refresh-token"}');
    // The cache is the database's only sealed value: the key check tries the key on it.
    expect(await store.keyCheck.verdict()).toBe('opens');
    expect(await store.keyCheck.verdict(createSecretBox(Buffer.from('cd'.repeat(32), 'hex')))).toBe('wrong');
  });

  it('goes with its server', async () => {
    await store.tokenCaches.save(serverId, '{"cache":true}');
    await store.servers.remove(serverId);
    expect(await store.tokenCaches.load(serverId)).toBeNull();
  });

  it('refuses a cache for a server that does not exist', async () => {
    await expect(store.tokenCaches.save(999, '{}')).rejects.toThrow();
  });
});
