// Tokens for Microsoft Graph from the identity emulator, through @azure/msal-node as relay365 will ask for them:
// client credentials with roles, Authorize Account with scp, the emulator's own Graph URL as resource, consent.
import { ConfidentialClientApplication, CryptoProvider, InteractionRequiredAuthError, type AuthenticationResult } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { graphRequest } from './graph-client.js';
import { emulatorPerTest, seededMsal } from './test-context.js';

const GRAPH = 'https://graph.microsoft.com';

const ctx = emulatorPerTest();

const app = (): ReturnType<typeof ctx.emu.directory.getApp> => ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId);

function claimsOf(token: string | undefined): Record<string, unknown> {
  const verified = ctx.emu.identity.verifyAccessToken(token ?? '');
  if (!verified.ok) throw new Error(verified.reason);
  return verified.claims;
}

/** Authorize Account over Graph: PKCE, the pages with the seeded admin, and the code redeemed by MSAL. */
async function authorizeGraph(
  cca: ConfidentialClientApplication,
  scopes: string[],
  consentForOrganization = false,
): Promise<AuthenticationResult> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await cca.getAuthCodeUrl({
    scopes,
    redirectUri: SEED.redirectUri,
    state: 'graph-1',
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    prompt: 'select_account',
  });
  const back = new URL(await ctx.emu.identity.completeAuthorize(url, { account: SEED.mailbox, consentForOrganization }));
  const code = back.searchParams.get('code') ?? '';
  return cca.acquireTokenByCode(
    { code, scopes, redirectUri: SEED.redirectUri, codeVerifier: verifier, state: 'graph-1' },
    { code, state: back.searchParams.get('state') ?? '', client_info: back.searchParams.get('client_info') ?? '' },
  );
}

describe('application tokens for Graph', () => {
  it("issues a token for graph.microsoft.com with the app's Graph application permissions as roles", async () => {
    const result = await seededMsal(ctx.emu).acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] });
    expect(claimsOf(result?.accessToken)).toMatchObject({
      aud: GRAPH,
      idtyp: 'app',
      roles: ['Mail.Send', 'Mail.ReadWrite'],
      appid: SEED.clientId,
    });
  });

  it("takes the emulator's Graph URL as the resource, as a Custom cloud's Graph Endpoint, and Graph accepts that token", async () => {
    const result = await seededMsal(ctx.emu).acquireTokenByClientCredential({ scopes: [`${ctx.emu.graphUrl}/.default`] });
    expect(claimsOf(result?.accessToken)).toMatchObject({ aud: ctx.emu.graphUrl, roles: ['Mail.Send', 'Mail.ReadWrite'] });
    const reply = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, {
      token: result?.accessToken ?? '',
      json: { message: { subject: 'Hi', toRecipients: [{ emailAddress: { address: 'someone@fabrikam.test' } }] } },
    });
    expect(reply.status).toBe(202);
  });

  it('follows the permissions in the directory, leaving roles out when none is consented', async () => {
    app().graphApplicationPermissions = ['Mail.Send'];
    const one = await seededMsal(ctx.emu).acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] });
    expect(claimsOf(one?.accessToken)['roles']).toEqual(['Mail.Send']);
    app().graphApplicationPermissions = [];
    const none = await seededMsal(ctx.emu).acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`], skipCache: true });
    expect(claimsOf(none?.accessToken)['roles']).toBeUndefined();
  });

  it('refuses a request for Graph and Exchange at once with AADSTS700022', async () => {
    const res = await fetch(`${ctx.emu.authorityHost}/${SEED.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: SEED.clientId,
        client_secret: SEED.clientSecret,
        scope: `${GRAPH}/.default https://outlook.office365.com/.default`,
      }),
    });
    expect(await res.json()).toMatchObject({ error: 'invalid_scope', error_codes: [700022] });
  });
});

describe('delegated tokens for Graph', () => {
  it('authorizes an account for Mail.Send on the Graph URL, refreshes, and sends with /me', async () => {
    const cca = seededMsal(ctx.emu);
    const scopes = [`${ctx.emu.graphUrl}/Mail.Send`, 'offline_access'];
    const first = await authorizeGraph(cca, scopes);
    expect(claimsOf(first.accessToken)).toMatchObject({ aud: ctx.emu.graphUrl, scp: 'Mail.Send User.Read', upn: SEED.mailbox });
    const [account] = await cca.getTokenCache().getAllAccounts();
    if (!account) throw new Error('MSAL cached no account');
    const refreshed = await cca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    const reply = await graphRequest(ctx.emu, '/v1.0/me/sendMail', {
      token: refreshed.accessToken,
      json: { message: { subject: 'Hi', toRecipients: [{ emailAddress: { address: 'someone@fabrikam.test' } }] } },
    });
    expect(reply.status).toBe(202);
    expect(ctx.emu.identity.tokenRequests.map((r) => r.grant_type)).toEqual(['authorization_code', 'refresh_token']);
  });

  it('asks for consent to Graph permissions not yet granted and records it for the organization', async () => {
    ctx.emu.identity.revokeConsent();
    const url = ctx.emu.identity.authorizeUrl({
      tenant: SEED.tenantId,
      clientId: SEED.clientId,
      redirectUri: SEED.redirectUri,
      scopes: [`${GRAPH}/Mail.Send`, 'offline_access', 'openid', 'profile'],
      loginHint: SEED.mailbox,
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain('<li>Send mail as you</li>');
    await authorizeGraph(seededMsal(ctx.emu), [`${GRAPH}/Mail.Send`, 'offline_access'], true);
    expect(app().graphDelegatedConsented).toEqual(['Mail.Send']);
    expect(app().smtpSendConsented).toBe(false);
    expect(ctx.emu.identity.consents).toEqual([
      expect.objectContaining({ consentType: 'AllPrincipals', scope: 'Mail.Send openid profile offline_access' }),
    ]);
  });

  it('fails a refresh with AADSTS65001 once Graph consent is revoked', async () => {
    const scopes = [`${GRAPH}/Mail.Send`];
    const refreshToken = ctx.emu.identity.createRefreshToken({
      tenant: SEED.tenantId,
      clientId: SEED.clientId,
      user: SEED.mailbox,
      scopes: [...scopes, 'offline_access'],
    });
    const cca = seededMsal(ctx.emu);
    const result = await cca.acquireTokenByRefreshToken({ refreshToken, scopes });
    expect(claimsOf(result?.accessToken)).toMatchObject({ aud: GRAPH, scp: 'Mail.Send User.Read' });
    app().graphDelegatedConsented = [];
    const err = await cca.acquireTokenByRefreshToken({ refreshToken, scopes }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InteractionRequiredAuthError);
    expect(err).toMatchObject({ errorCode: 'invalid_grant', subError: 'consent_required', errorNo: 65001 });
  });

  it('refuses a Graph permission the emulator does not model with AADSTS650053', async () => {
    const url = ctx.emu.identity.authorizeUrl({
      tenant: SEED.tenantId,
      clientId: SEED.clientId,
      redirectUri: SEED.redirectUri,
      scopes: [`${GRAPH}/Calendars.Read`, 'offline_access'],
    });
    const location = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(location.searchParams.get('error_description')).toMatch(/^AADSTS650053: .*'Calendars\.Read'/);
  });
});
