/**
 * What the token endpoint's grants share: the endpoint context and answer types,
 * client authentication with a secret (in the form body or a Basic header) or a
 * certificate-signed client assertion, and the issuing of delegated tokens
 * (access token, ID token, client_info) for Exchange's SMTP.Send or Microsoft
 * Graph's mail permissions after Entra's scope and consent checks.
 */
import type { AppRegistration, Directory, Mailbox, Tenant } from './directory.js';
import type { AuthorizationCodeStore } from './authorization-codes.js';
import { assertionClientId, JWT_BEARER_ASSERTION, verifyClientAssertion } from './client-assertion.js';
import { consentedGraphPermissions, hasDelegatedConsent } from './consent.js';
import type { ErrorParams } from './entra-errors.js';
import type { GrantStore } from './grants.js';
import type { JwtClaims } from './jwt.js';
import {
  clientInfo,
  delegatedTokenClaims,
  idTokenClaims,
  isExchangeResource,
  isGraphResource,
  isKnownResource,
  parseScopes,
} from './tokens.js';

/** Token lifetimes the tests may change while the emulator runs. */
export interface IdentitySettings {
  /** `expires_in` and the access token lifetime; default 3599. */
  tokenLifetimeSeconds: number;
  /** Refresh tokens unused for longer fail with AADSTS700082; default 90 days. */
  refreshTokenMaxInactiveSeconds: number;
  /** Authorization codes older than this fail with AADSTS70008; default 600 (Entra: 10 minutes). */
  authorizationCodeLifetimeSeconds: number;
  /** Leeway on a client assertion's `nbf`/`exp` before AADSTS700024; default 300. */
  clientAssertionClockSkewSeconds: number;
}

/** What the token endpoint needs from the identity emulator. */
export interface TokenEndpointContext {
  directory: Directory;
  grants: GrantStore;
  codes: AuthorizationCodeStore;
  settings: IdentitySettings;
  now: number;
  authorityHost: string;
  sign: (claims: JwtClaims) => string;
  /** The emulator's own Graph URLs, accepted as the Graph resource (see `isGraphResource`). */
  graphResources: readonly string[];
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

/** A failed {@link TokenOutcome}. */
export type Failure = Extract<TokenOutcome, { ok: false }>;

/** Builds a failed {@link TokenOutcome}. */
export const fail = (aadsts: number, params: ErrorParams = {}): Failure => ({ ok: false, aadsts, params });

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
 * Exchange's SMTP.Send or Microsoft Graph, after the scope and consent checks Entra
 * makes. A Graph token's `scp` lists every Graph permission the user consented to,
 * as Entra's does. The caller adds the refresh token.
 */
export function issueDelegatedTokens(input: DelegatedIssue): TokenOutcome {
  const { tenant, app, user, ctx } = input;
  const scope = input.scopes.join(' ');
  const parsed = parseScopes(scope);
  if (parsed.resources.size > 1) return fail(700022, { scope });
  const [resource, names] = [...parsed.resources.entries()][0] ?? [];
  if (resource === undefined || names === undefined) return fail(70011, { scope });
  if (!isKnownResource(resource, ctx.graphResources)) return fail(500011, { resource, tenantName: tenant.displayName });
  const granted = delegatedPermissions(app, user, resource, names, ctx.graphResources);
  if (!granted) return fail(65001, { clientId: app.clientId, appName: app.displayName });
  const lifetimeSeconds = ctx.settings.tokenLifetimeSeconds;
  const times = { now: ctx.now, lifetimeSeconds };
  const access = delegatedTokenClaims({ tenant, app, user, resource, scopes: granted, ...times });
  const body: TokenSuccessBody = {
    token_type: 'Bearer',
    scope: [...granted.map((p) => `${resource}/${p}`), ...parsed.oidc.filter((s) => s !== 'offline_access')].join(' '),
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

/** The permissions (`scp`) a delegated token for `resource` gets, or undefined when consent is missing. */
function delegatedPermissions(
  app: AppRegistration,
  user: Mailbox,
  resource: string,
  names: string[],
  graphResources: readonly string[],
): string[] | undefined {
  if (isGraphResource(resource, graphResources)) {
    return hasDelegatedConsent(app, user.address, names) ? consentedGraphPermissions(app, user.address) : undefined;
  }
  const smtp = isExchangeResource(resource) && names.every((name) => name === 'SMTP.Send' || name === '.default');
  return smtp && hasDelegatedConsent(app, user.address) ? ['SMTP.Send'] : undefined;
}

/** Result of {@link authenticateClient}. */
export type ClientCheck = { ok: true; app: AppRegistration } | Failure;

/**
 * Client authentication: a secret in the form body or an HTTP Basic header, or a
 * client assertion signed with a certificate registered on the app.
 */
export function authenticateClient(
  tenant: Tenant,
  form: URLSearchParams,
  authorization: string | undefined,
  ctx: TokenEndpointContext,
): ClientCheck {
  const basic = parseBasic(authorization);
  const assertion = form.get('client_assertion');
  const clientId = form.get('client_id') ?? basic?.id ?? (assertion !== null ? assertionClientId(assertion) : undefined);
  if (!clientId) return fail(900144, { name: 'client_id' });
  const app = tenant.apps.get(clientId.toLowerCase());
  if (!app) return fail(700016, { clientId, tenantName: tenant.displayName });
  if (assertion !== null) {
    const type = form.get('client_assertion_type');
    if (type !== JWT_BEARER_ASSERTION) return fail(900144, { name: 'client_assertion_type' });
    const context = { now: ctx.now, authorityHost: ctx.authorityHost, clockSkewSeconds: ctx.settings.clientAssertionClockSkewSeconds };
    const checked = verifyClientAssertion(tenant, app, assertion, context);
    return checked.ok ? { ok: true, app } : fail(checked.aadsts, checked.params);
  }
  const secret = form.get('client_secret') ?? basic?.secret;
  if (!secret) return fail(7000218);
  const match = app.secrets.find((s) => s.value === secret);
  if (!match) return fail(7000215, { clientId: app.clientId });
  if (match.expiresAt.getTime() <= ctx.now) return fail(7000222, { clientId: app.clientId });
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
