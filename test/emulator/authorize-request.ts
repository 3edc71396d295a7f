/**
 * Validation of `GET /{tenant}/oauth2/v2.0/authorize` in Entra's order. Until the
 * redirect URI is known to be registered, errors are shown on an error page
 * (unknown tenant AADSTS90002, unknown app AADSTS700016, redirect URI not
 * registered AADSTS50011); after that they go back to the app as
 * `redirect_uri?error=…&error_description=AADSTS…&state=…`.
 */
import type { AppRegistration, Directory, Tenant } from './directory.js';
import { unknownPermission } from './consent.js';
import type { ErrorParams } from './entra-errors.js';
import { isKnownResource, parseScopes } from './tokens.js';

/** Where and how the answer goes back to the app. */
export interface RedirectTarget {
  redirectUri: string;
  responseMode: 'query' | 'fragment' | 'form_post';
  state?: string;
}

/** An authorize request that passed validation. */
export interface ValidAuthorizeRequest {
  tenant: Tenant;
  app: AppRegistration;
  target: RedirectTarget;
  scopes: string[];
  prompt?: string;
  loginHint?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  /** `client_info=1`: the redirect and the token answer carry client_info. */
  includeClientInfo: boolean;
}

/** Verdict on an authorize request. */
export type AuthorizeCheck =
  | { kind: 'page'; aadsts: number; params: ErrorParams }
  | { kind: 'redirect'; target: RedirectTarget; aadsts: number; params: ErrorParams }
  | { kind: 'ok'; request: ValidAuthorizeRequest };

const MULTI_TENANT = new Set(['common', 'organizations']);
const RESPONSE_MODES = new Set(['query', 'fragment', 'form_post']);
/** RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]; an S256 challenge is exactly 43. */
const CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Checks an authorize request as Entra does; `segment` is the tenant path segment,
 * `graphResources` the emulator's own Graph URLs (see `isGraphResource`).
 */
export function checkAuthorizeRequest(
  segment: string,
  query: URLSearchParams,
  directory: Directory,
  graphResources: readonly string[] = [],
): AuthorizeCheck {
  const page = (aadsts: number, params: ErrorParams = {}): AuthorizeCheck => ({ kind: 'page', aadsts, params });
  const multi = MULTI_TENANT.has(segment.toLowerCase());
  const pathTenant = multi ? undefined : directory.findTenant(segment);
  if (!multi && !pathTenant) return page(90002, { tenant: segment });
  const clientId = query.get('client_id');
  if (!clientId) return page(900144, { name: 'client_id' });
  // Under common/organizations the emulator signs in to the tenant that registered the app.
  const tenant = pathTenant ?? [...directory.tenants.values()].find((t) => t.apps.has(clientId.toLowerCase()));
  const app = tenant?.apps.get(clientId.toLowerCase());
  if (!tenant || !app) return page(700016, { clientId, tenantName: tenant?.displayName ?? segment });
  let redirectUri = query.get('redirect_uri');
  if (redirectUri === null) {
    // Entra falls back to the registered reply URL when the request names none.
    if (app.redirectUris.length === 0) return page(500113);
    redirectUri = app.redirectUris[0] ?? '';
  }
  // Entra compares the whole string: scheme, host, port, path, case and trailing slash.
  if (!app.redirectUris.includes(redirectUri)) return page(50011, { redirectUri, clientId: app.clientId });

  const mode = query.get('response_mode') ?? 'query';
  const target: RedirectTarget = {
    redirectUri,
    responseMode: RESPONSE_MODES.has(mode) ? (mode as RedirectTarget['responseMode']) : 'query',
    state: query.get('state') ?? undefined,
  };
  const back = (aadsts: number, params: ErrorParams = {}): AuthorizeCheck => ({ kind: 'redirect', target, aadsts, params });
  const responseType = query.get('response_type');
  if (!responseType) return back(900144, { name: 'response_type' });
  if (responseType !== 'code') return back(700054, { responseType });
  const scope = query.get('scope');
  if (!scope?.trim()) return back(900144, { name: 'scope' });
  const parsed = parseScopes(scope);
  if (parsed.resources.size > 1) return back(700022, { scope });
  const resource = [...parsed.resources.keys()][0];
  if (resource !== undefined && !isKnownResource(resource, graphResources)) {
    return back(500011, { resource, tenantName: tenant.displayName });
  }
  const unknown = unknownPermission(parsed, graphResources);
  if (unknown) return back(650053, { appName: app.displayName, scope: unknown.permission, resource: unknown.resource });

  const challenge = query.get('code_challenge') ?? undefined;
  const method = query.get('code_challenge_method') ?? (challenge !== undefined ? 'plain' : undefined);
  if (challenge !== undefined) {
    if (method !== 'S256' && method !== 'plain') return back(9002313);
    if (!CHALLENGE.test(challenge) || (method === 'S256' && challenge.length !== 43)) return back(501491);
  }
  // No session cookies exist here, so a silent request never finds a signed-in user.
  if (query.get('prompt') === 'none') return back(50058);
  return {
    kind: 'ok',
    request: {
      tenant,
      app,
      target,
      scopes: scope.split(' ').filter(Boolean),
      prompt: query.get('prompt') || undefined,
      loginHint: query.get('login_hint') || undefined,
      nonce: query.get('nonce') || undefined,
      codeChallenge: challenge,
      codeChallengeMethod: challenge !== undefined && (method === 'S256' || method === 'plain') ? method : undefined,
      includeClientInfo: query.get('client_info') === '1',
    },
  };
}
