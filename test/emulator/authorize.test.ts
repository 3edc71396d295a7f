// "Authorize Account" against the emulator, driven by the real @azure/msal-node the way relay365 uses it:
// PKCE S256, getAuthCodeUrl, the pages (through completeAuthorize), acquireTokenByCode, silent refresh.
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
  type AccountInfo,
  type AuthenticationResult,
  type Configuration,
} from '@azure/msal-node';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { msalAuthorityMetadata, SEED } from './index.js';
import { emulatorPerTest, seededMsal } from './test-context.js';

const SCOPES = ['https://outlook.office.com/SMTP.Send', 'offline_access'];
const MINUTE_MS = 60_000;

const ctx = emulatorPerTest();

function msal(overrides: Partial<Configuration['auth']> = {}): ConfidentialClientApplication {
  return seededMsal(ctx.emu, { authorityMetadata: msalAuthorityMetadata(ctx.emu.authorityHost), ...overrides });
}

/** The first leg as relay365 runs it: a PKCE pair, a state and the authorize URL. */
async function startAuthorize(
  cca: ConfidentialClientApplication,
  extra: { prompt?: string; loginHint?: string; nonce?: string; redirectUri?: string } = {},
): Promise<{ url: string; verifier: string; state: string }> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = `relay365-${Math.random().toString(36).slice(2)}`;
  const url = await cca.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri: extra.redirectUri ?? SEED.redirectUri,
    state,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    prompt: extra.prompt ?? 'select_account',
    loginHint: extra.loginHint,
    nonce: extra.nonce,
  });
  return { url, verifier, state };
}

/** The callback's query as relay365 reads it. */
function callback(finalUrl: string): Record<string, string> {
  const url = new URL(finalUrl);
  expect(`${url.origin}${url.pathname}`).toBe(SEED.redirectUri);
  return Object.fromEntries(url.searchParams);
}

/** Authorize, pick the seeded mailbox, redeem the code: what "Authorize Account" does end to end. */
async function authorizeAccount(cca: ConfidentialClientApplication): Promise<AuthenticationResult> {
  const { url, verifier, state } = await startAuthorize(cca);
  const answer = callback(await ctx.emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
  const code = answer['code'] ?? '';
  return cca.acquireTokenByCode(
    { code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier, state },
    { code, state: answer['state'], client_info: answer['client_info'] },
  );
}

async function failure(promise: Promise<unknown>): Promise<ServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(Error);
  return err as ServerError;
}

async function onlyAccount(cca: ConfidentialClientApplication): Promise<AccountInfo> {
  const [account] = await cca.getTokenCache().getAllAccounts();
  if (!account) throw new Error('MSAL cached no account');
  return account;
}

describe('Authorize Account with MSAL', () => {
  it('signs in with PKCE, redeems the code for a delegated SMTP.Send token and refreshes it', async () => {
    const cca = msal();
    const result = await authorizeAccount(cca);
    expect(result.account).toMatchObject({ username: SEED.mailbox, homeAccountId: `${SEED.mailboxOid}.${SEED.tenantId}` });
    const verified = ctx.emu.identity.verifyAccessToken(result.accessToken);
    expect(verified.ok && verified.claims).toMatchObject({
      aud: 'https://outlook.office.com',
      scp: 'SMTP.Send',
      upn: SEED.mailbox,
      appid: SEED.clientId,
      tid: SEED.tenantId,
      idtyp: 'user',
    });
    expect(result.idTokenClaims).toMatchObject({ preferred_username: SEED.mailbox, aud: SEED.clientId });
    expect(ctx.emu.identity.authorizeRequests).toEqual([
      expect.objectContaining({
        clientId: SEED.clientId,
        redirectUri: SEED.redirectUri,
        pkce: true,
        pkceS256: true,
        prompt: 'select_account',
        pages: ['pick-account'],
        outcome: 'code',
        user: SEED.mailbox,
        consent: 'existing',
      }),
    ]);
    expect(ctx.emu.identity.authorizeRequests[0]?.query).toMatchObject({
      client_info: '1',
      response_mode: 'query',
      'x-client-SKU': 'msal.js.node',
    });

    const refreshed = await cca.acquireTokenSilent({ account: await onlyAccount(cca), scopes: SCOPES, forceRefresh: true });
    expect(refreshed.accessToken).not.toBe(result.accessToken);
    expect(ctx.emu.identity.tokenRequests.map((r) => [r.grant_type, r.ok])).toEqual([
      ['authorization_code', true],
      ['refresh_token', true],
    ]);
    expect(ctx.emu.identity.grants.list()).toHaveLength(2);
  });

  it('fails the silent refresh with AADSTS50173 once the refresh tokens are revoked', async () => {
    const cca = msal();
    await authorizeAccount(cca);
    expect(ctx.emu.identity.revokeRefreshTokens(SEED.mailbox)).toBe(1);
    const err = await failure(cca.acquireTokenSilent({ account: await onlyAccount(cca), scopes: SCOPES, forceRefresh: true }));
    expect(err).toBeInstanceOf(ServerError);
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_grant', 50173]);
  });

  it('fails the silent refresh with AADSTS65001 consent_required once consent is revoked', async () => {
    const cca = msal();
    await authorizeAccount(cca);
    expect(ctx.emu.identity.revokeConsent({ tenant: SEED.tenantId, clientId: SEED.clientId })).toBe(1);
    expect(ctx.emu.identity.consents).toEqual([]);
    const err = await failure(cca.acquireTokenSilent({ account: await onlyAccount(cca), scopes: SCOPES, forceRefresh: true }));
    expect(err).toBeInstanceOf(InteractionRequiredAuthError);
    expect([err.errorCode, err.subError, Number(err.errorNo)]).toEqual(['invalid_grant', 'consent_required', 65001]);
  });

  it('binds the nonce into the ID token', async () => {
    const cca = msal();
    const { url, verifier, state } = await startAuthorize(cca, { nonce: 'n-0S6_WzA2Mj' });
    const answer = callback(await ctx.emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
    const code = answer['code'] ?? '';
    const result = await cca.acquireTokenByCode(
      { code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier, state, nonce: 'n-0S6_WzA2Mj' },
      { code, state: answer['state'], client_info: answer['client_info'] },
    );
    expect(result.idTokenClaims).toMatchObject({ nonce: 'n-0S6_WzA2Mj' });
  });

  it('lets nodemailer send through Exchange as the signed-in user with the delegated token', async () => {
    const result = await authorizeAccount(msal());
    const transport = nodemailer.createTransport({
      host: ctx.emu.smtpHost,
      port: ctx.emu.smtpPort,
      secure: false,
      requireTLS: true,
      connectionTimeout: 5000,
      socketTimeout: 5000,
      auth: { type: 'OAuth2', user: SEED.mailbox, accessToken: result.accessToken },
    });
    const raw = `From: ${SEED.mailbox}\r\nTo: scans@fabrikam.test\r\nSubject: Scan\r\n\r\nDone.\r\n`;
    const info = await transport.sendMail({ envelope: { from: SEED.mailbox, to: ['scans@fabrikam.test'] }, raw });
    expect(info.response).toMatch(/^250 2\.0\.0 OK </);
    expect(ctx.emu.exchange.messages[0]).toMatchObject({ tokenKind: 'delegated', principal: SEED.mailbox });
  });
});

describe('authorization code redemption', () => {
  async function codeFor(cca: ConfidentialClientApplication): Promise<{ code: string; verifier: string; state: string }> {
    const { url, verifier, state } = await startAuthorize(cca);
    const code = callback(await ctx.emu.identity.completeAuthorize(url, { account: SEED.mailbox }))['code'] ?? '';
    return { code, verifier, state };
  }

  it('refuses a second redemption of the same code with AADSTS54005', async () => {
    const cca = msal();
    const { code, verifier } = await codeFor(cca);
    const request = { code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier };
    await cca.acquireTokenByCode(request);
    const err = await failure(cca.acquireTokenByCode(request));
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_grant', 54005]);
    expect(err.errorMessage).toMatch(/Description: AADSTS54005: OAuth2 Authorization code was already redeemed/);
  });

  it('refuses a wrong PKCE verifier with AADSTS501481', async () => {
    const cca = msal();
    const { code } = await codeFor(cca);
    const { verifier: other } = await new CryptoProvider().generatePkceCodes();
    const err = await failure(cca.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: other }));
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_grant', 501481]);
    expect(err.errorMessage).toMatch(
      /Description: AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request\./,
    );
    const missing = await failure(cca.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: SEED.redirectUri }));
    expect(Number(missing.errorNo)).toBe(501481);
  });

  it('refuses a code older than ten minutes with AADSTS70008', async () => {
    const cca = msal();
    const { code, verifier } = await codeFor(cca);
    ctx.clock += 11 * MINUTE_MS;
    const err = await failure(cca.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier }));
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_grant', 70008]);
  });

  it('refuses a redirect URI other than the authorize request used with AADSTS500112', async () => {
    const other = 'http://localhost:8025/oauth/office365/callback/';
    ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).redirectUris.push(other);
    const cca = msal();
    const { code, verifier } = await codeFor(cca);
    const err = await failure(cca.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: other, codeVerifier: verifier }));
    expect(Number(err.errorNo)).toBe(500112);
    expect(err.errorMessage).toContain(`The reply address '${other}' does not match the reply address '${SEED.redirectUri}'`);
  });

  it('authenticates the client like client credentials (AADSTS7000215)', async () => {
    const { code, verifier } = await codeFor(msal());
    const wrong = msal({ clientSecret: SEED.clientSecretId });
    const err = await failure(wrong.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier }));
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_client', 7000215]);
  });

  it('accepts a code without PKCE (a confidential client) and records that none was sent', async () => {
    const cca = msal();
    const url = await cca.getAuthCodeUrl({ scopes: SCOPES, redirectUri: SEED.redirectUri, state: 's1', prompt: 'select_account' });
    const answer = callback(await ctx.emu.identity.completeAuthorize(url));
    const result = await cca.acquireTokenByCode({ code: answer['code'] ?? '', scopes: SCOPES, redirectUri: SEED.redirectUri });
    expect(result.accessToken).toBeTruthy();
    expect(ctx.emu.identity.authorizeRequests[0]).toMatchObject({ pkce: false, pkceS256: false, state: 's1' });
  });
});
