// The identity emulator driven by the real @azure/msal-node client the relay uses.
import { ConfidentialClientApplication, InteractionRequiredAuthError, ServerError, type Configuration } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { emulatorPerTest, seededMsal } from './test-context.js';

const APP_SCOPE = 'https://outlook.office365.com/.default';
const DELEGATED_SCOPE = 'https://outlook.office.com/SMTP.Send';
const DAY_MS = 24 * 60 * 60 * 1000;

const ctx = emulatorPerTest();

function msal(overrides: Partial<Configuration['auth']> = {}): ConfidentialClientApplication {
  return seededMsal(ctx.emu, overrides);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<ServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(Error);
  return err as ServerError;
}

async function postToken(form: Record<string, string>, tenant: string = SEED.tenantId): Promise<Response> {
  return fetch(`${ctx.emu.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': 'c0ffee00-0000-4000-8000-000000000001' },
    body: new URLSearchParams(form),
  });
}

describe('client credentials', () => {
  it('issues an Exchange app token with the SMTP.SendAsApp role', async () => {
    const result = await msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] });
    const verified = ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '');
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.claims).toMatchObject({
      aud: 'https://outlook.office365.com',
      roles: ['SMTP.SendAsApp'],
      appid: SEED.clientId,
      oid: SEED.servicePrincipalId,
      tid: SEED.tenantId,
      idtyp: 'app',
    });
    expect(verified.claims.exp - Math.floor(ctx.clock / 1000)).toBe(3599);
    expect(ctx.emu.identity.tokenRequests).toEqual([
      expect.objectContaining({ grant_type: 'client_credentials', clientId: SEED.clientId, ok: true }),
    ]);
  });

  it('accepts the tenant domain as authority and answers with the tenant id as issuer', async () => {
    const config = await fetch(`${ctx.emu.authorityHost}/${SEED.tenantDomain}/v2.0/.well-known/openid-configuration`);
    const body = (await config.json()) as Record<string, string>;
    expect(body['issuer']).toBe(`${ctx.emu.authorityHost}/${SEED.tenantId}/v2.0`);
    expect(body['token_endpoint']).toBe(`${ctx.emu.authorityHost}/${SEED.tenantId}/oauth2/v2.0/token`);
    const result = await msal({ authority: ctx.emu.identity.authority(SEED.tenantDomain) }).acquireTokenByClientCredential({
      scopes: [APP_SCOPE],
    });
    expect(result?.accessToken).toBeTruthy();
  });

  it('publishes the signing key in the JWKS', async () => {
    const res = await fetch(`${ctx.emu.authorityHost}/${SEED.tenantId}/discovery/v2.0/keys`);
    const { keys } = (await res.json()) as { keys: Array<{ kid: string; kty: string; n: string }> };
    expect(keys).toEqual([expect.objectContaining({ kid: ctx.emu.identity.signingKey.kid, kty: 'RSA' })]);
  });

  it('omits the role when SMTP.SendAsApp has no admin consent', async () => {
    ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).smtpSendAsAppConsented = false;
    const result = await msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] });
    const verified = ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '');
    expect(verified.ok && verified.claims.roles).toBeUndefined();
  });

  it('rejects a wrong secret with AADSTS7000215', async () => {
    const err = await failure(msal({ clientSecret: 'not-the-secret' }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(err).toBeInstanceOf(ServerError);
    expect(err.errorCode).toBe('invalid_client');
    expect(Number(err.errorNo)).toBe(7000215);
    expect(ctx.emu.identity.tokenRequests.at(-1)).toMatchObject({ ok: false, status: 401, aadsts: 7000215 });
  });

  it('rejects the secret ID pasted instead of its value with AADSTS7000215', async () => {
    const err = await failure(msal({ clientSecret: SEED.clientSecretId }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(Number(err.errorNo)).toBe(7000215);
  });

  it('rejects an expired secret with AADSTS7000222', async () => {
    const expired = ctx.emu.directory.addSecret(SEED.tenantId, SEED.clientId, { expiresAt: new Date(ctx.clock - DAY_MS) });
    const err = await failure(msal({ clientSecret: expired.value }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(err.errorCode).toBe('invalid_client');
    expect(Number(err.errorNo)).toBe(7000222);
  });

  it('rejects an unknown client with AADSTS700016', async () => {
    const err = await failure(
      msal({ clientId: '11111111-2222-4333-8444-555555555555' }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }),
    );
    expect(err.errorCode).toBe('unauthorized_client');
    expect(Number(err.errorNo)).toBe(700016);
  });

  it('answers an unknown tenant with AADSTS90002 (MSAL sees it once discovery is skipped)', async () => {
    const unknown = '00000000-1111-4222-8333-444444444444';
    const discovery = await fetch(`${ctx.emu.authorityHost}/${unknown}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(400);
    expect(await discovery.json()).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
    // With only knownAuthorities MSAL fails on the discovery answer and loses the AADSTS code.
    const viaDiscovery = await failure(
      msal({ authority: ctx.emu.identity.authority(unknown) }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }),
    );
    expect(viaDiscovery.errorCode).toBe('endpoints_resolution_error');
    // With metadata given (as MSAL has built in for login.microsoftonline.com) the token endpoint answers 90002.
    const authorityMetadata = JSON.stringify({
      token_endpoint: `${ctx.emu.authorityHost}/{tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${ctx.emu.authorityHost}/{tenant}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${ctx.emu.authorityHost}/{tenant}/oauth2/v2.0/logout`,
      jwks_uri: `${ctx.emu.authorityHost}/{tenant}/discovery/v2.0/keys`,
      issuer: `${ctx.emu.authorityHost}/{tenantid}/v2.0`,
    });
    const viaToken = await failure(
      msal({ authority: ctx.emu.identity.authority(unknown), authorityMetadata }).acquireTokenByClientCredential({ scopes: [APP_SCOPE] }),
    );
    expect(viaToken).toBeInstanceOf(ServerError);
    expect(Number(viaToken.errorNo)).toBe(90002);
  });

  it('shapes error bodies like Entra ID', async () => {
    const res = await postToken({ grant_type: 'client_credentials', client_id: SEED.clientId, client_secret: 'wrong', scope: APP_SCOPE });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'invalid_client',
      error_codes: [7000215],
      correlation_id: 'c0ffee00-0000-4000-8000-000000000001',
      error_uri: `${ctx.emu.authorityHost}/error?code=7000215`,
    });
    expect(body['error_description']).toMatch(
      /^AADSTS7000215: Invalid client secret provided\. .*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: c0ffee00-[0-9a-f-]+\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s,
    );
    expect(body['timestamp']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  });

  it('accepts client_secret_basic and checks the scope like Entra', async () => {
    const basic = `Basic ${Buffer.from(`${SEED.clientId}:${encodeURIComponent(SEED.clientSecret)}`).toString('base64')}`;
    const ok = await fetch(`${ctx.emu.authorityHost}/${SEED.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: APP_SCOPE }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    const secret = { grant_type: 'client_credentials', client_id: SEED.clientId, client_secret: SEED.clientSecret };
    const notDefault = await postToken({ ...secret, scope: 'https://outlook.office365.com/SMTP.SendAsApp' });
    expect(await notDefault.json()).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
    const unknownResource = await postToken({ ...secret, scope: 'https://unknown.example/.default' });
    expect(await unknownResource.json()).toMatchObject({ error_codes: [500011] });
  });
});

describe('refresh tokens', () => {
  const refresh = (refreshToken: string): ReturnType<ConfidentialClientApplication['acquireTokenByRefreshToken']> =>
    msal().acquireTokenByRefreshToken({ refreshToken, scopes: [DELEGATED_SCOPE] });

  it('issues a delegated SMTP.Send token, an account and a rotated refresh token', async () => {
    const rt = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    const result = await refresh(rt);
    expect(result?.account).toMatchObject({ username: SEED.mailbox, homeAccountId: `${SEED.mailboxOid}.${SEED.tenantId}` });
    const verified = ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '');
    expect(verified.ok && verified.claims).toMatchObject({ aud: 'https://outlook.office.com', scp: 'SMTP.Send', upn: SEED.mailbox });
    const [first, second] = ctx.emu.identity.grants.list();
    expect(first?.rotatedTo).toBe(second?.token);
  });

  it('fails with AADSTS50173 (a plain ServerError) once the grant is revoked', async () => {
    const rt = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    ctx.emu.identity.revokeRefreshTokens(SEED.mailbox);
    const err = await failure(refresh(rt));
    expect(err).toBeInstanceOf(ServerError);
    expect(err).not.toBeInstanceOf(InteractionRequiredAuthError);
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_grant', 50173]);
  });

  it('fails with AADSTS700082 (interaction required) after 90 days without use', async () => {
    const rt = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    ctx.clock += 91 * DAY_MS;
    const err = await failure(refresh(rt));
    expect(err).toBeInstanceOf(InteractionRequiredAuthError);
    expect([err.errorCode, err.subError, Number(err.errorNo)]).toEqual(['invalid_grant', 'bad_token', 700082]);
  });

  it('asks for consent (AADSTS65001) when SMTP.Send is not consented', async () => {
    ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).smtpSendConsented = false;
    const rt = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    const err = await failure(refresh(rt));
    expect(err).toBeInstanceOf(InteractionRequiredAuthError);
    expect([err.subError, Number(err.errorNo)]).toEqual(['consent_required', 65001]);
  });
});

describe('fault injection and settings', () => {
  it('answers the next token request with an injected AADSTS error, then recovers', async () => {
    ctx.emu.identity.failNext({ aadsts: 700082, grantType: 'refresh_token' });
    ctx.emu.identity.failNext({ aadsts: 53003 });
    const err = await failure(msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(Number(err.errorNo)).toBe(53003);
    const rt = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    const expired = await failure(msal().acquireTokenByRefreshToken({ refreshToken: rt, scopes: [DELEGATED_SCOPE] }));
    expect(Number(expired.errorNo)).toBe(700082);
    expect(await msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] })).toBeTruthy();
  });

  it('answers an injected HTTP 500 and drops an injected connection', async () => {
    ctx.emu.identity.failNext({ status: 500 });
    const server = await failure(msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(server).toBeInstanceOf(ServerError);
    ctx.emu.identity.failNext({ drop: true });
    const dropped = await failure(msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] }));
    expect(dropped.errorCode).toBe('network_error');
    expect(ctx.emu.identity.tokenRequests.map((r) => r.status)).toEqual([500, 0]);
  });

  it('issues tokens with the configured lifetime', async () => {
    ctx.emu.identity.settings.tokenLifetimeSeconds = 120;
    const result = await msal().acquireTokenByClientCredential({ scopes: [APP_SCOPE] });
    const verified = ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '');
    expect(verified.ok && verified.claims.exp - Math.floor(ctx.clock / 1000)).toBe(120);
    ctx.clock += 121_000;
    expect(ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '')).toMatchObject({ ok: false });
  });
});
