import { afterEach, describe, expect, it } from 'vitest';
import { authorizeScopes, authorizeUrl, callbackError, createPkce, finishAuthorization } from '../../src/auth/authorize.js';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { TokenError } from '../../src/auth/token-error.js';
import { silentLogger } from '../../src/log.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { s256, startFakeEntra, type FakeEntra } from '../admin/fake-entra.js';

const CLIENT_ID = '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94';
const REDIRECT = 'http://localhost:8025/oauth/office365/callback';

let fx: Fixture;
let entra: FakeEntra;
afterEach(async () => {
  fx?.cleanup();
  await entra?.close();
});

async function setup() {
  fx = createFixture();
  entra = await startFakeEntra();
  const server = fx.store.sync.servers.add(
    plainServer({
      name: 'o365',
      method: 'office365',
      signInMode: 'authorize',
      tenantId: 'contoso.test',
      clientId: CLIENT_ID,
      clientSecret: 'app-secret',
      cloud: 'custom',
      authorityHost: entra.authorityHost,
      smtpResource: 'https://outlook.office.com',
    }),
  );
  const client = createMsalClient({ server, clientSecret: 'app-secret', cache: fx.store.tokenCaches, log: silentLogger });
  return { server, client };
}

describe('Authorize Account (authorization code with PKCE)', () => {
  it('asks for SMTP.Send of the cloud plus offline_access', () => {
    expect(authorizeScopes({ cloud: 'global', authorityHost: null, smtpResource: null, graphEndpoint: null, sendVia: 'smtp' })).toEqual([
      'https://outlook.office.com/SMTP.Send',
      'offline_access',
    ]);
  });

  it("asks for Graph's Mail.Send of the cloud instead for a server that sends via Graph", () => {
    const graph = { authorityHost: null, smtpResource: null, graphEndpoint: null, sendVia: 'graph' } as const;
    expect(authorizeScopes({ ...graph, cloud: 'global' })).toEqual(['https://graph.microsoft.com/Mail.Send', 'offline_access']);
    expect(authorizeScopes({ ...graph, cloud: 'usgov' })).toEqual(['https://graph.microsoft.us/Mail.Send', 'offline_access']);
    expect(authorizeScopes({ ...graph, cloud: 'usdod' })).toEqual(['https://dod-graph.microsoft.us/Mail.Send', 'offline_access']);
    expect(authorizeScopes({ ...graph, cloud: 'china' })).toEqual(['https://microsoftgraph.chinacloudapi.cn/Mail.Send', 'offline_access']);
    expect(
      authorizeScopes({ ...graph, cloud: 'custom', authorityHost: 'https://login.example', graphEndpoint: 'https://graph.example/' }),
    ).toEqual(['https://graph.example/Mail.Send', 'offline_access']);
  });

  it('builds the authorize URL with an S256 challenge, the state, the redirect URI and prompt=select_account', async () => {
    const { server, client } = await setup();
    const pkce = await createPkce();
    expect(pkce.challenge).toBe(s256(pkce.verifier));
    const url = new URL(await authorizeUrl({ client, server, redirectUri: REDIRECT, state: 'the-state', challenge: pkce.challenge }));
    expect(`${url.origin}${url.pathname}`).toBe(`${entra.authorityHost}/contoso.test/oauth2/v2.0/authorize`);
    const q = url.searchParams;
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('redirect_uri')).toBe(REDIRECT);
    expect(q.get('state')).toBe('the-state');
    expect(q.get('code_challenge')).toBe(pkce.challenge);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('prompt')).toBe('select_account');
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['https://outlook.office.com/SMTP.Send', 'offline_access']));
    expect(url.toString()).not.toContain(pkce.verifier);
    expect(url.toString()).not.toContain('app-secret');
  });

  it('redeems the code with the verifier and keeps the account in the sealed token cache', async () => {
    const { server, client } = await setup();
    const pkce = await createPkce();
    const result = await finishAuthorization({
      client,
      server,
      redirectUri: REDIRECT,
      code: 'the-code',
      state: 's',
      verifier: pkce.verifier,
    });
    expect(result.account).toBe('relay@contoso.test');
    const [request] = entra.tokenRequests;
    expect(request).toMatchObject({
      grant_type: 'authorization_code',
      code: 'the-code',
      code_verifier: pkce.verifier,
      redirect_uri: REDIRECT,
      client_secret: 'app-secret',
    });
    const sealed = fx.store.db.prepare('SELECT data FROM token_caches WHERE server_id = ?').get(server.id) as { data: Buffer };
    expect(sealed.data.toString('latin1')).not.toContain('secret-refresh-token');
    expect(fx.store.sync.tokenCaches.load(server.id)).toContain('secret-refresh-token');
    const accounts = await createMsalClient({ server, clientSecret: 'app-secret', cache: fx.store.tokenCaches, log: silentLogger })
      .getTokenCache()
      .getAllAccounts();
    expect(accounts.map((a) => a.username)).toEqual(['relay@contoso.test']);
  });

  it.each([
    [54005, 'invalid_grant', 'OAuth2 Authorization code was already redeemed', 'Authorization code already redeemed'],
    [7000215, 'invalid_client', 'Invalid client secret provided.', 'Invalid client secret'],
    [65001, 'invalid_grant', 'The user or administrator has not consented to use the application.', 'Consent missing'],
  ])('turns AADSTS%s from the token endpoint into a TokenError with its hint', async (aadsts, error, description, meaning) => {
    const { server, client } = await setup();
    entra.failNext(aadsts, error, description);
    const err = await finishAuthorization({
      client,
      server,
      redirectUri: REDIRECT,
      code: 'c',
      state: 's',
      verifier: (await createPkce()).verifier,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect(err).toMatchObject({ code: `AADSTS${aadsts}`, hint: { meaning } });
    expect((err as Error).message).toBe(`AADSTS${aadsts}: ${description}`);
  });

  it('reads the error Microsoft put on the redirect URI', () => {
    expect(callbackError('access_denied', 'AADSTS65004: User declined to consent to access the app.')).toMatchObject({
      code: 'AADSTS65004',
      hint: { meaning: 'Sign-in was cancelled or consent was declined' },
    });
    expect(callbackError('invalid_request', 'AADSTS50011: The redirect URI specified in the request does not match.')).toMatchObject({
      hint: { meaning: 'Redirect URI not registered' },
    });
  });
});
