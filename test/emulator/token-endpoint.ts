/**
 * The identity emulator's token endpoint, `POST /{tenant}/oauth2/v2.0/token`:
 * client authentication (client_secret in the body or a Basic header) and the
 * client_credentials and refresh_token grants, answering like Entra ID v2.0.
 * The authorization_code grant comes with the interactive authorize page; its
 * handler will reuse {@link issueDelegatedTokens}.
 */
import type { AppRegistration, Directory, Mailbox, Tenant } from './directory.js';
import type { ErrorParams } from './entra-errors.js';
import type { GrantStore } from './grants.js';
import type { JwtClaims } from './jwt.js';
import {
  appTokenClaims,
  clientInfo,
  delegatedTokenClaims,
  idTokenClaims,
  isExchangeResource,
  isKnownResource,
  parseScopes,
} from './tokens.js';

/** Token lifetimes the tests may change while the emulator runs. */
export interface IdentitySettings {
  /** `expires_in` and the access token lifetime; default 3599. */
  tokenLifetimeSeconds: number;
  /** Refresh tokens unused for longer fail with AADSTS700082; default 90 days. */
  refreshTokenMaxInactiveSeconds: number;
}

/** What the token endpoint needs from the identity emulator. */
export interface TokenEndpointContext {
  directory: Directory;
  grants: GrantStore;
  settings: IdentitySettings;
  now: number;
  authorityHost: string;
  sign: (claims: JwtClaims) => string;
}

/** A successful token answer body. */
export interface TokenSuccessBody {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

/** The endpoint's verdict: tokens, or an AADSTS error to render. */
export type TokenOutcome = { ok: true; body: TokenSuccessBody } | { ok: false; aadsts: number; params: ErrorParams };

type Failure = Extract<TokenOutcome, { ok: false }>;

const fail = (aadsts: number, params: ErrorParams = {}): Failure => ({ ok: false, aadsts, params });

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
  const client = authenticateClient(tenant, form, authorization, ctx.now);
  if (!client.ok) return client;
  const scope = form.get('scope');
  if (!scope) return fail(900144, { name: 'scope' });
  const items = scope.split(' ').filter(Boolean);
  const notDefault = items.find((item) => !item.endsWith('/.default'));
  if (notDefault !== undefined) return fail(1002012, { scope: notDefault });
  const resources = [...parseScopes(scope).resources.keys()];
  if (resources.length !== 1 || items.length !== 1) return fail(700022, { scope });
  const resource = resources[0] ?? '';
  if (!isKnownResource(resource)) return fail(500011, { resource, tenantName: tenant.displayName });
  const lifetimeSeconds = ctx.settings.tokenLifetimeSeconds;
  const claims = appTokenClaims({ tenant, app: client.app, resource, now: ctx.now, lifetimeSeconds });
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
  let client = pathTenant ? authenticateClient(pathTenant, form, authorization, ctx.now) : undefined;
  if (client && !client.ok) return client;
  const token = form.get('refresh_token');
  if (!token) return fail(900144, { name: 'refresh_token' });
  const grant = ctx.grants.find(token);
  if (!grant) return fail(9002313);
  if (pathTenant && pathTenant.id !== grant.tenantId) return fail(7000012);
  const tenant = pathTenant ?? ctx.directory.findTenant(grant.tenantId);
  if (!tenant) return fail(9002313);
  client ??= authenticateClient(tenant, form, authorization, ctx.now);
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

/** Input of {@link issueDelegatedTokens}. */
export interface DelegatedIssue {
  tenant: Tenant;
  app: AppRegistration;
  user: Mailbox;
  /** Requested scopes, e.g. `https://outlook.office.com/SMTP.Send openid profile offline_access`. */
  scopes: string[];
  includeClientInfo: boolean;
  nonce?: string;
  ctx: TokenEndpointContext;
}

/**
 * Issues the access token (and ID token, client_info) of a delegated grant for
 * Exchange's SMTP.Send, after the scope and consent checks Entra makes. The caller
 * adds the refresh token.
 */
export function issueDelegatedTokens(input: DelegatedIssue): TokenOutcome {
  const { tenant, app, user, ctx } = input;
  const scope = input.scopes.join(' ');
  const parsed = parseScopes(scope);
  if (parsed.resources.size > 1) return fail(700022, { scope });
  const [resource, names] = [...parsed.resources.entries()][0] ?? [];
  if (resource === undefined || names === undefined) return fail(70011, { scope });
  if (!isKnownResource(resource)) return fail(500011, { resource, tenantName: tenant.displayName });
  const permissions = names.flatMap((name) => (name === '.default' ? ['SMTP.Send'] : [name]));
  const consented = isExchangeResource(resource) && app.smtpSendConsented && permissions.every((p) => p === 'SMTP.Send');
  if (!consented) return fail(65001, { clientId: app.clientId, appName: app.displayName });
  const lifetimeSeconds = ctx.settings.tokenLifetimeSeconds;
  const times = { now: ctx.now, lifetimeSeconds };
  const access = delegatedTokenClaims({ tenant, app, user, resource, scopes: ['SMTP.Send'], ...times });
  const body: TokenSuccessBody = {
    token_type: 'Bearer',
    scope: [`${resource}/SMTP.Send`, ...parsed.oidc.filter((s) => s !== 'offline_access')].join(' '),
    expires_in: lifetimeSeconds,
    ext_expires_in: lifetimeSeconds,
    access_token: ctx.sign(access),
  };
  if (parsed.oidc.includes('openid')) {
    const idClaims = idTokenClaims({ tenant, app, user, authorityHost: ctx.authorityHost, nonce: input.nonce, ...times });
    body.id_token = ctx.sign(idClaims);
  }
  if (input.includeClientInfo) body.client_info = clientInfo(user, tenant);
  return { ok: true, body };
}

type ClientCheck = { ok: true; app: AppRegistration } | Failure;

/** Client authentication with a secret, in the form body or an HTTP Basic header. */
function authenticateClient(
  tenant: Tenant,
  form: URLSearchParams,
  authorization: string | undefined,
  now: number,
): ClientCheck {
  const basic = parseBasic(authorization);
  const clientId = form.get('client_id') ?? basic?.id;
  if (!clientId) return fail(900144, { name: 'client_id' });
  const app = tenant.apps.get(clientId.toLowerCase());
  if (!app) return fail(700016, { clientId, tenantName: tenant.displayName });
  const secret = form.get('client_secret') ?? basic?.secret;
  if (!secret) return fail(7000218);
  const match = app.secrets.find((s) => s.value === secret);
  if (!match) return fail(7000215, { clientId: app.clientId });
  if (match.expiresAt.getTime() <= now) return fail(7000222, { clientId: app.clientId });
  return { ok: true, app };
}

function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
  return {
    id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
    secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
  };
}
