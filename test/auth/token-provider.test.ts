/**
 * The token provider against the identity emulator: MSAL's cache is the only
 * token cache, concurrent callers share one call, and the counters count
 * requests that reached Microsoft, not cache hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { createTokenProvider } from '../../src/auth/token-provider.js';
import { silentLogger } from '../../src/log.js';
import type { EmailServer } from '../../src/store/servers.js';
import type { TokenCacheStore } from '../../src/auth/token-cache.js';
import { createSigningKey, SEED, startEmulator, type Emulator } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';

let emu: Emulator;
let fx: Fixture;
let server: EmailServer;

beforeAll(async () => {
  emu = await startEmulator({ signingKey: await createSigningKey() });
  fx = createFixture();
  server = fx.store.sync.servers.add(emulatorServer(emu));
});
afterAll(async () => {
  fx.cleanup();
  await emu.close();
});

/** A fresh in-memory MSAL cache per test. */
function memoryCache(): TokenCacheStore {
  const data = new Map<number, string>();
  return {
    load: async (id) => data.get(id) ?? null,
    save: async (id, serialized) => void data.set(id, serialized),
  };
}

const client = () => createMsalClient({ server, clientSecret: SEED.clientSecret, cache: memoryCache(), log: silentLogger });
const requests = () => emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials').length;

describe('token provider', () => {
  it('counts a request and a refresh only when the token comes from Microsoft, not from MSAL’s cache', async () => {
    let clock = 1_000;
    const tokens = createTokenProvider({ server, client: client(), now: () => clock });
    const before = requests();
    const first = await tokens.getAccessToken();
    expect(tokens).toMatchObject({ requests: 1, refreshedAt: 1_000 });
    clock = 2_000;
    expect((await tokens.getAccessToken()).token).toBe(first.token);
    expect(tokens).toMatchObject({ requests: 1, refreshedAt: 1_000 });
    clock = 3_000;
    const forced = await tokens.getAccessToken({ forceRefresh: true });
    expect(forced.token).not.toBe(first.token);
    expect(tokens).toMatchObject({ requests: 2, refreshedAt: 3_000 });
    expect(requests() - before).toBe(2);
  });

  it('keeps no token of its own: a token another caller renewed in MSAL’s cache is the one it hands out', async () => {
    const msal = client();
    const a = createTokenProvider({ server, client: msal });
    const b = createTokenProvider({ server, client: msal });
    const old = await a.getAccessToken();
    const renewed = await b.getAccessToken({ forceRefresh: true });
    expect(renewed.token).not.toBe(old.token);
    expect((await a.getAccessToken()).token).toBe(renewed.token);
    expect(a).toMatchObject({ requests: 1 });
  });

  it('takes a token from MSAL’s cache without counting a request or a refresh', async () => {
    const msal = client();
    const warm = await createTokenProvider({ server, client: msal }).getAccessToken();
    const tokens = createTokenProvider({ server, client: msal });
    const before = requests();
    expect((await tokens.getAccessToken()).token).toBe(warm.token);
    expect(tokens).toMatchObject({ requests: 0, refreshedAt: null });
    expect(requests()).toBe(before);
  });

  it('shares one request among concurrent callers', async () => {
    const tokens = createTokenProvider({ server, client: client() });
    const before = requests();
    const all = await Promise.all(Array.from({ length: 5 }, () => tokens.getAccessToken()));
    expect(new Set(all.map((t) => t.token)).size).toBe(1);
    expect(requests() - before).toBe(1);
    expect(tokens.requests).toBe(1);
  });

  it('runs a forced refresh after the call in flight instead of taking its cached token', async () => {
    const tokens = createTokenProvider({ server, client: client() });
    await tokens.getAccessToken();
    const before = requests();
    const [cached, forced] = await Promise.all([tokens.getAccessToken(), tokens.getAccessToken({ forceRefresh: true })]);
    expect(forced.token).not.toBe(cached.token);
    expect(requests() - before).toBe(1);
  });
});
