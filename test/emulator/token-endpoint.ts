/**
 * The identity emulator's token endpoint, `POST /{tenant}/oauth2/v2.0/token`:
 * the client_credentials and refresh_token grants here, authorization_code in
 * `authorization-code-grant.ts`, client authentication and token issuing in
 * `token-issue.ts`; answers like Entra ID v2.0.
 */
import type { Tenant } from './directory.js';
import { redeemAuthorizationCode } from './authorization-code-grant.js';
import { authenticateClient, fail, issueDelegatedTokens, type TokenEndpointContext, type TokenOutcome } from './token-issue.js';
import { appTokenClaims, isKnownResource, parseScopes } from './tokens.js';

export type { IdentitySettings, TokenEndpointContext, TokenOutcome, TokenSuccessBody } from './token-issue.js';
export { issueDelegatedTokens } from './token-issue.js';

/** Tenant path segments that name no tenant. */
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

/** Answers one token request; `tenantSegment` is the first path segment. */
export function answerTokenRequest(
  tenantSegment: string,
  form: URLSearchParams,
  authorization: string | undefined,
  ctx: TokenEndpointContext,
): TokenOutcome {
  const multiTenant = MULTI_TENANT.has(tenantSegment.toLowerCase());
  const tenant = multiTenant ? undefined : ctx.directory.findTenant(tenantSegment);
  if (!multiTenant && !tenant) return fail(90002, { tenant: tenantSegment });
  const grantType = form.get('grant_type');
  if (!grantType) return fail(900144, { name: 'grant_type' });
  switch (grantType) {
    case 'client_credentials':
      // App-only tokens need a real tenant in the authority, never common/organizations.
      return tenant ? clientCredentials(tenant, form, authorization, ctx) : fail(50059);
    case 'refresh_token':
      return refreshToken(tenant, form, authorization, ctx);
    case 'authorization_code':
      return redeemAuthorizationCode(tenant, form, authorization, ctx);
    default:
      return fail(70003, { grantType });
  }
}

function clientCredentials(
  tenant: Tenant,
  form: URLSearchParams,
  authorization: string | undefined,
  ctx: TokenEndpointContext,
): TokenOutcome {
  const client = authenticateClient(tenant, form, authorization, ctx);
  if (!client.ok) return client;
  const scope = form.get('scope');
  if (!scope) return fail(900144, { name: 'scope' });
  const items = scope.split(' ').filter(Boolean);
  const notDefault = items.find((item) => !item.endsWith('/.default'));
  if (notDefault !== undefined) return fail(1002012, { scope: notDefault });
  const resources = [...parseScopes(scope).resources.keys()];
  if (resources.length !== 1 || items.length !== 1) return fail(700022, { scope });
  const resource = resources[0] ?? '';
  if (!isKnownResource(resource, ctx.graphResources)) return fail(500011, { resource, tenantName: tenant.displayName });
  const lifetimeSeconds = ctx.settings.tokenLifetimeSeconds;
  const claims = appTokenClaims({
    tenant,
    app: client.app,
    resource,
    graphResources: ctx.graphResources,
    now: ctx.now,
    lifetimeSeconds,
  });
  return {
    ok: true,
    // Entra's v2.0 client credentials answer carries no `scope`.
    body: { token_type: 'Bearer', expires_in: lifetimeSeconds, ext_expires_in: lifetimeSeconds, access_token: ctx.sign(claims) },
  };
}

function refreshToken(
  pathTenant: Tenant | undefined,
  form: URLSearchParams,
  authorization: string | undefined,
  ctx: TokenEndpointContext,
): TokenOutcome {
  // The client is authenticated first; under common/organizations only the grant names the tenant.
  let client = pathTenant ? authenticateClient(pathTenant, form, authorization, ctx) : undefined;
  if (client && !client.ok) return client;
  const token = form.get('refresh_token');
  if (!token) return fail(900144, { name: 'refresh_token' });
  const grant = ctx.grants.find(token);
  if (!grant) return fail(9002313);
  if (pathTenant && pathTenant.id !== grant.tenantId) return fail(7000012);
  const tenant = pathTenant ?? ctx.directory.findTenant(grant.tenantId);
  if (!tenant) return fail(9002313);
  client ??= authenticateClient(tenant, form, authorization, ctx);
  if (!client.ok) return client;
  if (client.app.clientId !== grant.clientId) return fail(70000);
  const problem = ctx.grants.check(grant, ctx.now, ctx.settings.refreshTokenMaxInactiveSeconds);
  if (problem) {
    const { aadsts, ...params } = problem;
    return fail(aadsts, params);
  }
  const user = tenant.mailboxes.get(grant.userAddress);
  if (!user) return fail(9002313);
  const scopes = (form.get('scope') ?? grant.scopes.join(' ')).split(' ').filter(Boolean);
  const outcome = issueDelegatedTokens({
    tenant,
    app: client.app,
    user,
    scopes,
    includeClientInfo: form.get('client_info') === '1',
    ctx,
  });
  if (outcome.ok && scopes.includes('offline_access')) {
    outcome.body.refresh_token = ctx.grants.rotate(grant, ctx.now).token;
  }
  return outcome;
}
