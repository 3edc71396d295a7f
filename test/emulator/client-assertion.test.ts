// Certificate credentials at the identity emulator: @azure/msal-node's clientCertificate for client credentials and
// for Authorize Account (code and refresh), Entra's errors for a wrong, unknown or expired certificate, and
// hand-made assertions for the claims MSAL always gets right.
import { createHash, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { ConfidentialClientApplication, CryptoProvider, ServerError } from '@azure/msal-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificate, JWT_BEARER_ASSERTION, SEED, type TestCertificate } from './index.js';
import { emulatorPerTest, seededMsal } from './test-context.js';

const GRAPH_APP_SCOPE = 'https://graph.microsoft.com/.default';
const DAY_MS = 24 * 60 * 60 * 1000;

const ctx = emulatorPerTest();
let registered: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  [registered, other] = await Promise.all([createTestCertificate(), createTestCertificate({ commonName: 'not registered' })]);
});

/** An MSAL client that signs assertions with `certificate`'s thumbprint and `key` (its own by default). */
function certificateMsal(certificate: TestCertificate, key = certificate.keyPem): ConfidentialClientApplication {
  return seededMsal(ctx.emu, {
    clientSecret: undefined,
    clientCertificate: { thumbprintSha256: certificate.thumbprintSha256, privateKey: key, x5c: certificate.certPem },
  });
}

function register(certificate: TestCertificate, dates: { expiresAt?: Date } = {}): void {
  ctx.emu.directory.addCertificate(SEED.tenantId, SEED.clientId, certificate.certPem, dates);
}

async function failure(promise: Promise<unknown>): Promise<ServerError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServerError);
  return err as ServerError;
}

describe('client assertions from MSAL', () => {
  it("gets a Graph app token with MSAL's clientCertificate (thumbprintSha256, privateKey, x5c)", async () => {
    register(registered);
    const result = await certificateMsal(registered).acquireTokenByClientCredential({ scopes: [GRAPH_APP_SCOPE] });
    const verified = ctx.emu.identity.verifyAccessToken(result?.accessToken ?? '');
    expect(verified.ok && verified.claims.roles).toEqual(['Mail.Send', 'Mail.ReadWrite']);
    expect(ctx.emu.identity.tokenRequests).toEqual([
      expect.objectContaining({ grant_type: 'client_credentials', clientAuth: 'assertion', ok: true }),
    ]);
  });

  it('authenticates the authorization code and refresh grants with the certificate too', async () => {
    register(registered);
    const cca = certificateMsal(registered);
    const scopes = ['https://outlook.office.com/SMTP.Send', 'offline_access'];
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const url = await cca.getAuthCodeUrl({
      scopes,
      redirectUri: SEED.redirectUri,
      state: 's',
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    const back = new URL(await ctx.emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
    const code = back.searchParams.get('code') ?? '';
    await cca.acquireTokenByCode(
      { code, scopes, redirectUri: SEED.redirectUri, codeVerifier: verifier, state: 's' },
      { code, state: 's', client_info: back.searchParams.get('client_info') ?? '' },
    );
    const [account] = await cca.getTokenCache().getAllAccounts();
    if (!account) throw new Error('MSAL cached no account');
    await cca.acquireTokenSilent({ account, scopes, forceRefresh: true });
    expect(ctx.emu.identity.tokenRequests.map((r) => [r.grant_type, r.clientAuth, r.ok])).toEqual([
      ['authorization_code', 'assertion', true],
      ['refresh_token', 'assertion', true],
    ]);
  });

  it('answers AADSTS700027 for a certificate not registered on the app', async () => {
    register(registered);
    const err = await failure(certificateMsal(other).acquireTokenByClientCredential({ scopes: [GRAPH_APP_SCOPE] }));
    expect([err.errorCode, Number(err.errorNo)]).toEqual(['invalid_client', 700027]);
    expect(err.errorMessage).toContain(
      'The certificate with identifier used to sign the client assertion is not registered on application.',
    );
    expect(err.errorMessage).toContain(`Thumbprint of key used by client: '${other.thumbprintSha256}'`);
  });

  it("answers AADSTS700027 when the assertion is not signed with the registered certificate's key", async () => {
    register(registered);
    const err = await failure(certificateMsal(registered, other.keyPem).acquireTokenByClientCredential({ scopes: [GRAPH_APP_SCOPE] }));
    expect(Number(err.errorNo)).toBe(700027);
    expect(err.errorMessage).toContain('Key was found, but use of the key to verify the signature failed.');
  });

  it('answers AADSTS700027 for an expired certificate', async () => {
    register(registered, { expiresAt: new Date(ctx.clock - DAY_MS) });
    const err = await failure(certificateMsal(registered).acquireTokenByClientCredential({ scopes: [GRAPH_APP_SCOPE] }));
    expect(Number(err.errorNo)).toBe(700027);
    expect(err.errorMessage).toContain('[Reason - The key used is expired.');
  });
});

describe('hand-made client assertions', () => {
  const tokenEndpoint = (): string => `${ctx.emu.authorityHost}/${SEED.tenantId}/oauth2/v2.0/token`;

  /** An RS256 assertion with the SHA-1 `x5t` header (what older clients send), claims overridable. */
  function assertion(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
    const now = Math.floor(ctx.clock / 1000);
    const x5t = createHash('sha1')
      .update(Buffer.from(registered.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
      .digest('base64url');
    const head = { alg: 'RS256', typ: 'JWT', x5t, ...header };
    const body = { aud: tokenEndpoint(), iss: SEED.clientId, sub: SEED.clientId, jti: randomUUID(), nbf: now, exp: now + 600, ...claims };
    const input = `${Buffer.from(JSON.stringify(head)).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
    return `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(registered.keyPem)).toString('base64url')}`;
  }

  async function redeem(clientAssertion: string): Promise<Record<string, unknown>> {
    register(registered);
    const res = await fetch(tokenEndpoint(), {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: SEED.clientId,
        scope: GRAPH_APP_SCOPE,
        client_assertion_type: JWT_BEARER_ASSERTION,
        client_assertion: clientAssertion,
      }),
    });
    return (await res.json()) as Record<string, unknown>;
  }

  it('accepts an RS256 assertion naming the certificate by its SHA-1 x5t', async () => {
    expect(await redeem(assertion())).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
  });

  it('answers AADSTS700023 for an audience other than the tenant token endpoint', async () => {
    const answer = await redeem(assertion({ aud: `${ctx.emu.authorityHost}/organizations/oauth2/v2.0/token` }));
    expect(answer).toMatchObject({ error: 'invalid_client', error_codes: [700023] });
  });

  it('answers AADSTS700021 when iss and sub are not the client id', async () => {
    const answer = await redeem(assertion({ iss: '11111111-2222-4333-8444-555555555555', sub: '11111111-2222-4333-8444-555555555555' }));
    expect(answer).toMatchObject({ error_codes: [700021] });
  });

  it('answers AADSTS700024 for an assertion that expired beyond the clock skew', async () => {
    const now = Math.floor(ctx.clock / 1000);
    const answer = await redeem(assertion({ nbf: now - 1200, exp: now - 301 }));
    expect(answer).toMatchObject({ error_codes: [700024] });
    expect(String(answer['error_description'])).toMatch(
      /^AADSTS700024: Client assertion is not within its valid time range\. Current time: \d{4}-.*\.\d{7}Z/,
    );
    expect(await redeem(assertion({ nbf: now - 1200, exp: now - 299 }))).toMatchObject({ token_type: 'Bearer' });
  });

  it('answers AADSTS50027 for an assertion without a thumbprint', async () => {
    expect(await redeem(assertion({}, { x5t: undefined }))).toMatchObject({ error_codes: [50027] });
  });
});
