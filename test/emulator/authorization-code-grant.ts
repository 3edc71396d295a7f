/**
 * The authorization_code grant of the token endpoint: redeems a code from the
 * authorize pages the way Entra ID v2.0 does. Checks, in order: client secret or assertion,
 * the code (known, same tenant and app, not redeemed, younger than ten minutes),
 * `redirect_uri` equal to the authorize request's, the PKCE `code_verifier`
 * against the stored challenge; then issues delegated tokens and a refresh token.
 */
import { createHash } from 'node:crypto';
import type { Tenant } from './directory.js';
import type { AuthorizationCode } from './authorization-codes.js';
import {
  authenticateClient,
  fail,
  issueDelegatedTokens,
  type ClientCheck,
  type TokenEndpointContext,
  type TokenOutcome,
} from './token-issue.js';

/** Answers `grant_type=authorization_code`; `pathTenant` is undefined under common/organizations. */
export function redeemAuthorizationCode(
  pathTenant: Tenant | undefined,
  form: URLSearchParams,
  authorization: string | undefined,
  ctx: TokenEndpointContext,
): TokenOutcome {
  let client: ClientCheck | undefined = pathTenant ? authenticateClient(pathTenant, form, authorization, ctx) : undefined;
  if (client && !client.ok) return client;
  const value = form.get('code');
  if (!value) return fail(900144, { name: 'code' });
  const code = ctx.codes.find(value);
  if (!code) return fail(70000, { detail: "The provided value for the 'code' parameter is not valid." });
  if (pathTenant && pathTenant.id !== code.tenantId) return fail(700005);
  const tenant = pathTenant ?? ctx.directory.findTenant(code.tenantId);
  if (!tenant) return fail(700005);
  client ??= authenticateClient(tenant, form, authorization, ctx);
  if (!client.ok) return client;
  if (client.app.clientId !== code.clientId) {
    return fail(70000, { detail: "The provided value for the 'code' parameter is not valid." });
  }
  if (code.redeemedAt !== undefined) return fail(54005);
  if (ctx.now - code.issuedAt > ctx.settings.authorizationCodeLifetimeSeconds * 1000) return fail(70008);
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) return fail(900144, { name: 'redirect_uri' });
  if (redirectUri !== code.redirectUri) return fail(500112, { redirectUri, expected: code.redirectUri });
  if (!verifierMatches(code, form.get('code_verifier'))) return fail(501481);
  const user = tenant.mailboxes.get(code.userAddress);
  if (!user) return fail(9002313);
  const scopes = (form.get('scope') ?? code.scopes.join(' ')).split(' ').filter(Boolean);
  const outcome = issueDelegatedTokens({
    tenant,
    app: client.app,
    user,
    scopes,
    includeClientInfo: form.get('client_info') === '1',
    nonce: code.nonce,
    ctx,
  });
  if (!outcome.ok) return outcome;
  code.redeemedAt = ctx.now;
  // A refresh token needs offline_access in the authorize request (where it was consented).
  if (code.scopes.includes('offline_access')) {
    const grant = { tenantId: tenant.id, clientId: client.app.clientId, userAddress: user.address, scopes };
    outcome.body.refresh_token = ctx.grants.issue(grant, ctx.now).token;
  }
  return outcome;
}

/** RFC 7636 §4.6: S256 compares BASE64URL(SHA256(verifier)) with the challenge; plain compares them as is. */
function verifierMatches(code: AuthorizationCode, verifier: string | null): boolean {
  // Entra accepts a confidential client's code without PKCE when the authorize request had none.
  if (code.codeChallenge === undefined) return true;
  if (!verifier) return false;
  const derived = code.codeChallengeMethod === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
  return derived === code.codeChallenge;
}
