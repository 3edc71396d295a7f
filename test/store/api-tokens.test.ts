/**
 * API tokens as stored, on both engines: only a hash and a hint kept, names
 * unique whatever their case, the last use written at most once a minute,
 * and a revoked token no longer let in.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../helpers/engines.js';
import { API_TOKEN_PREFIX } from '../../src/store/api-tokens.js';
import { isUniqueViolation } from '../../src/store/unique-violation.js';
import { openAccessStore, T0, type AccessStore } from './access-store.js';

describe.each(ENGINES)('%s', (engine) => {
  let s: AccessStore;
  beforeEach(async () => {
    s = await openAccessStore(engine);
  });
  afterEach(() => s.cleanup());

  it('creates a token shown once, keeping a hint of it, and finds it by name in any case', async () => {
    const { apiTokens } = s.store;
    const { apiToken, token } = await apiTokens.add({ name: 'Provisioning', scope: 'write' });
    expect(token).toMatch(/^r365_[A-Za-z0-9_-]{43}$/);
    expect(apiToken).toEqual({
      id: expect.any(Number),
      name: 'Provisioning',
      scope: 'write',
      hint: `${token.slice(0, API_TOKEN_PREFIX.length + 4)}…`,
      createdAt: T0,
      lastUsedAt: null,
    });
    expect(await apiTokens.findByName('provisioning')).toEqual(apiToken);
    expect(await apiTokens.findByName('monitoring')).toBeUndefined();
    expect(await apiTokens.list()).toEqual([apiToken]);
  });

  it('refuses a second token with the same name in another case, as a unique violation', async () => {
    await s.store.apiTokens.add({ name: 'monitoring', scope: 'read' });
    const refused = await s.store.apiTokens.add({ name: 'Monitoring', scope: 'write' }).catch((err: unknown) => err);
    expect(isUniqueViolation(refused)).toBe(true);
    expect(await s.store.apiTokens.list()).toHaveLength(1);
  });

  it('lists tokens by name whatever its case', async () => {
    for (const name of ['zabbix', 'Backup', 'ansible']) await s.store.apiTokens.add({ name, scope: 'read' });
    expect((await s.store.apiTokens.list()).map((t) => t.name)).toEqual(['ansible', 'Backup', 'zabbix']);
  });

  it('lets a token in, writing its last use the first time and then at most once a minute', async () => {
    const { apiTokens } = s.store;
    const { apiToken, token } = await apiTokens.add({ name: 'monitoring', scope: 'read' });
    expect(await apiTokens.authenticate(token, T0 + 1_000)).toEqual({ ...apiToken, lastUsedAt: T0 + 1_000 });
    expect(await apiTokens.authenticate(token, T0 + 60_999)).toEqual({ ...apiToken, lastUsedAt: T0 + 1_000 });
    expect((await apiTokens.list())[0]?.lastUsedAt).toBe(T0 + 1_000);
    expect(await apiTokens.authenticate(token, T0 + 61_000)).toEqual({ ...apiToken, lastUsedAt: T0 + 61_000 });
    expect((await apiTokens.findByName('monitoring'))?.lastUsedAt).toBe(T0 + 61_000);
  });

  it('lets no unknown token in, nor one without the prefix', async () => {
    const { token } = await s.store.apiTokens.add({ name: 'monitoring', scope: 'read' });
    expect(await s.store.apiTokens.authenticate(`${API_TOKEN_PREFIX}not-a-token`, T0)).toBeUndefined();
    expect(await s.store.apiTokens.authenticate(token.slice(API_TOKEN_PREFIX.length), T0)).toBeUndefined();
    expect(await s.store.apiTokens.authenticate(`${token}x`, T0)).toBeUndefined();
  });

  it('revokes a token: it no longer lets in, and its name is free again', async () => {
    const { apiTokens } = s.store;
    const { apiToken, token } = await apiTokens.add({ name: 'monitoring', scope: 'read' });
    expect(await apiTokens.revoke(apiToken.id)).toBe(true);
    expect(await apiTokens.revoke(apiToken.id)).toBe(false);
    expect(await apiTokens.authenticate(token, T0)).toBeUndefined();
    expect(await apiTokens.list()).toEqual([]);
    expect((await apiTokens.add({ name: 'Monitoring', scope: 'write' })).apiToken).toMatchObject({ name: 'Monitoring', scope: 'write' });
  });
});
