/**
 * Token errors by table: the pure classification, and the same Entra answers
 * reaching it through MSAL in both sign-in modes (client credentials carry an
 * HTTP status, a refresh in Authorize Account mode does not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeUrl, createPkce, finishAuthorization } from '../../src/auth/authorize.js';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { hintForTokenError } from '../../src/auth/hints.js';
import { AADSTS_ACTIONS, classifyTokenFailure, type TokenAction, type TokenFailureFacts } from '../../src/auth/token-classify.js';
import { TokenError } from '../../src/auth/token-error.js';
import { createTokenProvider, type TokenProvider } from '../../src/auth/token-provider.js';
import { silentLogger } from '../../src/log.js';
import type { EmailServer } from '../../src/store/servers.js';
import type { TokenCacheStore } from '../../src/auth/token-cache.js';
import { createSigningKey, SEED, startEmulator, type Emulator } from '../emulator/index.js';
import type { IdentityFault } from '../emulator/identity-types.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';

describe('classifyTokenFailure', () => {
  const microsoft = (aadsts: string | null, oauthError: string | null, status?: number): TokenFailureFacts => ({
    aadsts,
    oauthError,
    status,
    fromMicrosoft: true,
  });
  const table: [string, TokenFailureFacts, TokenAction][] = [
    ['holds on a wrong client secret', microsoft('7000215', 'invalid_client', 401), 'hold'],
    ['holds on an expired client secret', microsoft('7000222', 'invalid_client', 401), 'hold'],
    ['holds on an app missing from the tenant', microsoft('700016', 'unauthorized_client', 400), 'hold'],
    ['holds on an unknown tenant', microsoft('90002', 'invalid_tenant', 400), 'hold'],
    ['holds on missing consent', microsoft('65001', 'invalid_grant'), 'hold'],
    ['holds on an expired refresh token', microsoft('700082', 'invalid_grant'), 'hold'],
    ['holds on a revoked grant', microsoft('50173', 'invalid_grant'), 'hold'],
    ['holds on MFA required', microsoft('50076', 'invalid_grant'), 'hold'],
    ['holds on Conditional Access', microsoft('53003', 'invalid_grant'), 'hold'],
    ['holds on the sign-in frequency policy', microsoft('70043', 'invalid_grant'), 'hold'],
    ['holds on a grant from another tenant', microsoft('7000012', 'invalid_grant'), 'hold'],
    ['fails a redeemed authorization code', microsoft('54005', 'invalid_grant', 400), 'fail'],
    ['fails a declined sign-in', microsoft(null, 'access_denied'), 'fail'],
    ['retries a throttled request (429)', microsoft('50196', 'temporarily_unavailable', 429), 'retry'],
    ['retries AADSTS50196 without a status (Authorize Account)', microsoft('50196', 'invalid_request'), 'retry'],
    ['retries any 429', microsoft('9999999', 'invalid_request', 429), 'retry'],
    ['retries a 5xx', microsoft('9999999', 'invalid_request', 503), 'retry'],
    ['retries temporarily_unavailable without a status', microsoft('90033', 'temporarily_unavailable'), 'retry'],
    ['retries server_error without a number or status', microsoft(null, 'server_error'), 'retry'],
    ['prefers the AADSTS number to a 5xx', microsoft('7000215', 'invalid_client', 500), 'hold'],
    ['prefers the AADSTS number to the OAuth error', microsoft('50196', 'invalid_grant'), 'retry'],
    ['holds on an unknown Microsoft refusal', microsoft('9999999', 'something_new', 400), 'hold'],
    ['holds on any invalid_grant', microsoft(null, 'invalid_grant'), 'hold'],
    ["retries MSAL's replay of a throttled answer", { aadsts: '7000215', oauthError: null, replayed: true, fromMicrosoft: false }, 'retry'],
    ['retries a network error', { aadsts: null, oauthError: 'network_error', fromMicrosoft: false }, 'retry'],
    ['retries an error that is not Microsoft’s', { aadsts: null, oauthError: null, fromMicrosoft: false }, 'retry'],
    ['holds while no account is authorized', { aadsts: null, oauthError: 'no_account', fromMicrosoft: false }, 'hold'],
  ];
  it.each(table)('%s', (_name, facts, action) => {
    expect(classifyTokenFailure(facts)).toBe(action);
  });

  it('has a fix for every AADSTS number it knows', () => {
    const missing = Object.keys(AADSTS_ACTIONS).filter((code) => hintForTokenError(code, null) === null);
    expect(missing).toEqual([]);
  });
});

/** An in-memory cache store, so that each row starts with a fresh MSAL client and no throttling state. */
function memoryCache(): TokenCacheStore {
  const data = new Map<number, string>();
  return {
    load: async (id) => data.get(id) ?? null,
    save: async (id, serialized) => void data.set(id, serialized),
  };
}

describe('token errors from Microsoft, in both sign-in modes', () => {
  let emu: Emulator;
  let fx: Fixture;
  let application: EmailServer;
  let authorize: EmailServer;

  beforeAll(async () => {
    emu = await startEmulator({ signingKey: await createSigningKey() });
    fx = createFixture();
    application = fx.store.sync.servers.add(emulatorServer(emu));
    authorize = fx.store.sync.servers.add(
      emulatorServer(emu, { name: 'delegated', signInMode: 'authorize', smtpResource: 'https://outlook.office.com' }),
    );
  });
  afterAll(async () => {
    fx.cleanup();
    await emu.close();
  });

  /** A provider with a fresh MSAL client; in Authorize Account mode with a signed-in account in its cache. */
  async function provider(mode: 'application' | 'authorize'): Promise<TokenProvider> {
    const server = mode === 'application' ? application : authorize;
    const client = createMsalClient({ server, clientSecret: SEED.clientSecret, cache: memoryCache(), log: silentLogger });
    if (mode === 'authorize') {
      // Authorize Account as the panel runs it, answering the emulator's pages over HTTP.
      const pkce = await createPkce();
      const url = await authorizeUrl({ client, server, redirectUri: SEED.redirectUri, state: 's', challenge: pkce.challenge });
      const back = new URL(await emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
      const code = back.searchParams.get('code') ?? '';
      await finishAuthorization({ client, server, redirectUri: SEED.redirectUri, code, state: 's', verifier: pkce.verifier });
    }
    return createTokenProvider({ server, client });
  }

  async function failure(tokens: TokenProvider): Promise<TokenError> {
    const err: unknown = await tokens.getAccessToken({ forceRefresh: true }).then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof TokenError)) throw new Error(`expected a TokenError, got ${String(err)}`);
    return err;
  }

  const rows: [string, IdentityFault, TokenAction][] = [
    ['AADSTS7000215', { aadsts: 7000215 }, 'hold'],
    ['AADSTS7000222', { aadsts: 7000222 }, 'hold'],
    ['AADSTS700016', { aadsts: 700016 }, 'hold'],
    ['AADSTS90002', { aadsts: 90002 }, 'hold'],
    ['AADSTS65001', { aadsts: 65001 }, 'hold'],
    ['AADSTS700082', { aadsts: 700082 }, 'hold'],
    ['AADSTS50173', { aadsts: 50173 }, 'hold'],
    ['AADSTS50076', { aadsts: 50076 }, 'hold'],
    ['AADSTS53003', { aadsts: 53003 }, 'hold'],
    ['AADSTS70043', { aadsts: 70043 }, 'hold'],
    ['AADSTS54005', { aadsts: 54005 }, 'fail'],
    ['AADSTS7000012', { aadsts: 7000012 }, 'hold'],
    ['AADSTS50196 (429)', { aadsts: 50196 }, 'retry'],
    ['AADSTS90033 (503 temporarily_unavailable)', { aadsts: 90033 }, 'retry'],
    [
      '500 server_error with an unknown AADSTS number',
      { status: 500, body: { error: 'server_error', error_description: 'AADSTS9999999: Internal error.', error_codes: [9999999] } },
      'retry',
    ],
    ['a dropped connection', { drop: true }, 'retry'],
  ];
  const modes = [
    ['Application', 'application', 'client_credentials'],
    ['Authorize Account', 'authorize', 'refresh_token'],
  ] as const;
  const cases = modes.flatMap(([label, mode, grantType]) =>
    rows.map(([what, fault, action]) => [label, what, action, mode, { ...fault, grantType }] as const),
  );

  it.each(cases)('%s: %s → %s', async (_label, _what, action, mode, fault) => {
    const tokens = await provider(mode);
    emu.identity.failNext(fault);
    const error = await failure(tokens);
    if ('aadsts' in fault) expect(error.code).toBe(`AADSTS${fault.aadsts}`);
    expect(error.action).toBe(action);
    expect(error.transient).toBe(action === 'retry');
  });

  // Only client credentials see the replay: after a throttled refresh, MSAL 7.2.3 asks Microsoft
  // again on the next silent call (the delivery tests show that mail then goes out).
  it("Application: MSAL's replay of a throttled answer is retried and is not counted as a request", async () => {
    const tokens = await provider('application');
    emu.identity.failNext({ aadsts: 50196, grantType: 'client_credentials' });
    const sent = emu.identity.tokenRequests.length;
    expect(await failure(tokens)).toMatchObject({ code: 'AADSTS50196', action: 'retry' });
    expect(emu.identity.tokenRequests.length).toBe(sent + 1);
    // Within Retry-After (60 s by default) MSAL throws the same error again without asking.
    expect(await failure(tokens)).toMatchObject({ code: 'AADSTS50196', action: 'retry' });
    expect(emu.identity.tokenRequests.length).toBe(sent + 1);
    expect(tokens.requests).toBe(1);
  });
});
