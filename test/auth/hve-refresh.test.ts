/**
 * High Volume Email refuses a token about ten minutes before it expires, so a
 * server on smtp-hve.office365.com renews a cached token 15 minutes before its
 * end, where MSAL (and so every other server) keeps it until 5 minutes before.
 * Against the identity emulator's token endpoint, on a fake clock that MSAL,
 * the emulator and the token provider all read (only Date is faked: sockets
 * and timers are real).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { HVE_HOST } from '../../src/auth/server-presets.js';
import { createTokenProvider, type TokenProvider } from '../../src/auth/token-provider.js';
import { silentLogger } from '../../src/log.js';
import type { EmailServer } from '../../src/store/servers.js';
import type { TokenCacheStore } from '../../src/auth/token-cache.js';
import { createSigningKey, SEED, startEmulator, type Emulator } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';

const MINUTE = 60_000;
/** The emulator's access token lifetime (Entra's usual 3599 seconds). */
const LIFETIME_MS = 3599_000;

let emu: Emulator;
let fx: Fixture;
let hve: EmailServer;
let exchange: EmailServer;
let graphOnHveHost: EmailServer;

beforeAll(async () => {
  emu = await startEmulator({ signingKey: await createSigningKey() });
  fx = createFixture();
  hve = fx.store.sync.servers.add(emulatorServer(emu, { name: 'hve', host: HVE_HOST }));
  exchange = fx.store.sync.servers.add(emulatorServer(emu, { name: 'exchange' }));
  // Over Graph the SMTP host is not used: nothing refuses its tokens early.
  graphOnHveHost = fx.store.sync.servers.add(emulatorServer(emu, { name: 'graph', host: HVE_HOST, sendVia: 'graph' }));
});
afterAll(async () => {
  fx.cleanup();
  await emu.close();
});

let start: number;
beforeEach(() => {
  // A whole second, so MSAL's expiry (whole seconds) is exactly start + the lifetime.
  start = Math.ceil(Date.now() / 1000) * 1000;
  vi.useFakeTimers({ toFake: ['Date'], now: start });
  emu.identity.settings.tokenLifetimeSeconds = LIFETIME_MS / 1000;
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fresh in-memory MSAL cache. */
function memoryCache(): TokenCacheStore {
  const data = new Map<number, string>();
  return { load: async (id) => data.get(id) ?? null, save: async (id, serialized) => void data.set(id, serialized) };
}

/** The server's token provider over its own MSAL client and cache, on the (fake) system clock. */
const provider = (server: EmailServer): TokenProvider =>
  createTokenProvider({
    server,
    client: createMsalClient({ server, clientSecret: SEED.clientSecret, cache: memoryCache(), log: silentLogger }),
  });

/** Moves the clock to `left` before the first token's expiry. */
const leaving = (left: number): void => void vi.setSystemTime(start + LIFETIME_MS - left);

const tokenRequests = () => emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials').length;

describe('token renewal for High Volume Email', () => {
  it('renews a token 14 minutes before its expiry for an HVE server, and reuses it for Exchange Online', async () => {
    const hveTokens = provider(hve);
    const exoTokens = provider(exchange);
    const first = { hve: await hveTokens.getAccessToken(), exo: await exoTokens.getAccessToken() };
    expect(first.hve.expiresAt).toBe(start + LIFETIME_MS);
    const before = tokenRequests();

    leaving(16 * MINUTE);
    expect((await hveTokens.getAccessToken()).token).toBe(first.hve.token);
    expect((await exoTokens.getAccessToken()).token).toBe(first.exo.token);
    expect(tokenRequests()).toBe(before);

    leaving(14 * MINUTE);
    const renewed = await hveTokens.getAccessToken();
    expect(renewed.token).not.toBe(first.hve.token);
    expect(renewed.expiresAt).toBe(Date.now() + LIFETIME_MS);
    expect(hveTokens).toMatchObject({ requests: 2, refreshedAt: Date.now() });
    expect((await exoTokens.getAccessToken()).token).toBe(first.exo.token);
    expect(exoTokens).toMatchObject({ requests: 1, refreshedAt: start });
    expect(tokenRequests()).toBe(before + 1);

    // The renewed token is reused from then on: no request per message.
    expect((await hveTokens.getAccessToken()).token).toBe(renewed.token);
    expect(tokenRequests()).toBe(before + 1);
  });

  it('leaves other servers to MSAL, which renews 5 minutes before the expiry', async () => {
    const exoTokens = provider(exchange);
    const graphTokens = provider(graphOnHveHost);
    const first = { exo: await exoTokens.getAccessToken(), graph: await graphTokens.getAccessToken() };
    leaving(6 * MINUTE);
    expect((await exoTokens.getAccessToken()).token).toBe(first.exo.token);
    expect((await graphTokens.getAccessToken()).token).toBe(first.graph.token);
    leaving(4 * MINUTE);
    expect((await exoTokens.getAccessToken()).token).not.toBe(first.exo.token);
    expect((await graphTokens.getAccessToken()).token).not.toBe(first.graph.token);
    expect([exoTokens.requests, graphTokens.requests]).toEqual([2, 2]);
  });
});
