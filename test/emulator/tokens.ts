/**
 * What the identity emulator puts in its tokens: scope parsing, the claims of
 * app-only and delegated access tokens for Exchange Online and Microsoft Graph
 * (v1.0 tokens, as both resources get them), ID tokens (v2.0) and the
 * `client_info` MSAL builds accounts from; and the check Exchange makes on an
 * access token before looking at its audience and permissions.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppRegistration, Mailbox, Tenant } from './directory.js';
import { verifyJwt, type JwtClaims, type SigningKey } from './jwt.js';

/** Exchange Online as the resource of app-only (client credentials) tokens. */
export const EXCHANGE_APP_RESOURCE = 'https://outlook.office365.com';
/** Exchange Online as the resource of delegated tokens. */
export const EXCHANGE_DELEGATED_RESOURCE = 'https://outlook.office.com';
/** Microsoft Graph in the global cloud: tokens are issued for it, and Exchange SMTP rejects them. */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
/** Application id of Office 365 Exchange Online. */
export const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';
/** Application id of Microsoft Graph. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

const KNOWN_RESOURCES = [EXCHANGE_APP_RESOURCE, EXCHANGE_DELEGATED_RESOURCE, GRAPH_RESOURCE];
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** True for the two application ID URIs of Exchange Online. */
export function isExchangeResource(resource: string): boolean {
  return resource === EXCHANGE_APP_RESOURCE || resource === EXCHANGE_DELEGATED_RESOURCE;
}

/**
 * True for Microsoft Graph: its global URI, or one of `graphResources`, the URLs
 * under which the emulator's Graph servers stand in for a national cloud's Graph host.
 */
export function isGraphResource(resource: string, graphResources: readonly string[] = []): boolean {
  return resource === GRAPH_RESOURCE || graphResources.includes(resource);
}

/** True when the emulated cloud has a resource principal for `resource`. */
export function isKnownResource(resource: string, graphResources: readonly string[] = []): boolean {
  return KNOWN_RESOURCES.includes(resource) || graphResources.includes(resource);
}

/** The application permissions (`roles`) an app-only token for `resource` carries, if any. */
export function applicationRoles(app: AppRegistration, resource: string, graphResources: readonly string[] = []): string[] | undefined {
  if (isExchangeResource(resource)) return app.smtpSendAsAppConsented ? ['SMTP.SendAsApp'] : undefined;
  if (isGraphResource(resource, graphResources) && app.graphApplicationPermissions.length > 0) {
    return [...app.graphApplicationPermissions];
  }
  return undefined;
}

/** A `scope` parameter split into OpenID Connect scopes and per-resource permissions. */
export interface ParsedScopes {
  /** openid, profile, offline_access, email. */
  oidc: string[];
  /** Resource (application ID URI) to permission names, e.g. SMTP.Send or .default. */
  resources: Map<string, string[]>;
}

/** Splits a space-separated `scope` value. A bare permission name means Microsoft Graph. */
export function parseScopes(scope: string): ParsedScopes {
  const parsed: ParsedScopes = { oidc: [], resources: new Map() };
  for (const item of scope.split(' ').filter(Boolean)) {
    if (OIDC_SCOPES.has(item.toLowerCase())) {
      parsed.oidc.push(item.toLowerCase());
      continue;
    }
    const slash = item.lastIndexOf('/');
    const resource = slash > 0 && item.includes('://') ? item.slice(0, slash).toLowerCase() : GRAPH_RESOURCE;
    const name = slash > 0 && item.includes('://') ? item.slice(slash + 1) : item;
    parsed.resources.set(resource, [...(parsed.resources.get(resource) ?? []), name]);
  }
  return parsed;
}

/** Issuer of v1.0 access tokens (what Exchange Online receives). */
export function accessTokenIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** Issuer of v2.0 ID tokens and of the OpenID configuration, on the emulator host. */
export function v2Issuer(authorityHost: string, tenantId: string): string {
  return `${authorityHost}/${tenantId}/v2.0`;
}

/** Issue time and lifetime of a token. */
export interface TokenTimes {
  now: number;
  lifetimeSeconds: number;
}

function timeClaims(times: TokenTimes): { iat: number; nbf: number; exp: number } {
  const iat = Math.floor(times.now / 1000);
  return { iat, nbf: iat, exp: iat + times.lifetimeSeconds };
}

function uniqueTokenId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** Claims of an app-only access token (client credentials); `graphResources` as for {@link isGraphResource}. */
export function appTokenClaims(
  input: { tenant: Tenant; app: AppRegistration; resource: string; graphResources?: readonly string[] } & TokenTimes,
): JwtClaims {
  const { tenant, app, resource } = input;
  const roles = applicationRoles(app, resource, input.graphResources);
  return {
    aud: resource,
    iss: accessTokenIssuer(tenant.id),
    ...timeClaims(input),
    app_displayname: app.displayName,
    appid: app.clientId,
    appidacr: '1',
    idp: accessTokenIssuer(tenant.id),
    idtyp: 'app',
    oid: app.servicePrincipalId,
    // Entra leaves `roles` out when no application permission is consented.
    ...(roles ? { roles } : {}),
    sub: app.servicePrincipalId,
    tid: tenant.id,
    uti: uniqueTokenId(),
    ver: '1.0',
  };
}

/** Claims of a delegated access token for `user` with the permission names `scopes`. */
export function delegatedTokenClaims(
  input: { tenant: Tenant; app: AppRegistration; user: Mailbox; resource: string; scopes: string[] } & TokenTimes,
): JwtClaims {
  const { tenant, app, user } = input;
  const [givenName, ...rest] = user.displayName.split(' ');
  return {
    aud: input.resource,
    iss: accessTokenIssuer(tenant.id),
    ...timeClaims(input),
    acr: '1',
    amr: ['pwd'],
    app_displayname: app.displayName,
    appid: app.clientId,
    appidacr: '1',
    given_name: givenName,
    family_name: rest.join(' ') || undefined,
    idtyp: 'user',
    name: user.displayName,
    oid: user.oid,
    scp: input.scopes.join(' '),
    sid: randomUUID(),
    sub: randomBytes(32).toString('base64url').slice(0, 43),
    tid: tenant.id,
    unique_name: user.address,
    upn: user.address,
    uti: uniqueTokenId(),
    ver: '1.0',
  };
}

/** Claims of a v2.0 ID token for `user`, audience the client. */
export function idTokenClaims(
  input: { tenant: Tenant; app: AppRegistration; user: Mailbox; authorityHost: string; nonce?: string } & TokenTimes,
): JwtClaims {
  const { tenant, app, user } = input;
  return {
    aud: app.clientId,
    iss: v2Issuer(input.authorityHost, tenant.id),
    ...timeClaims(input),
    name: user.displayName,
    ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
    oid: user.oid,
    preferred_username: user.address,
    sub: user.oid.replace(/-/g, ''),
    tid: tenant.id,
    uti: uniqueTokenId(),
    ver: '2.0',
  };
}

/** MSAL's `client_info`: base64url of `{"uid": oid, "utid": tid}`. */
export function clientInfo(user: Mailbox, tenant: Tenant): string {
  return Buffer.from(JSON.stringify({ uid: user.oid, utid: tenant.id })).toString('base64url');
}

/** Claims the Exchange emulator relies on; the rest of the token is there too. */
export interface AccessTokenClaims extends JwtClaims {
  aud: string;
  iss: string;
  tid: string;
  exp: number;
  appid: string;
  oid: string;
  idtyp?: string;
  roles?: string[];
  scp?: string;
  upn?: string;
}

/** Result of {@link verifyAccessToken}. */
export type TokenVerification = { ok: true; claims: AccessTokenClaims } | { ok: false; reason: string };

/** Checks signature, issuer, `nbf` and `exp` of an access token at `nowMs` (not its audience). */
export function verifyAccessToken(token: string, key: SigningKey, nowMs: number): TokenVerification {
  const checked = verifyJwt(token, [key]);
  if (!checked.ok) return checked;
  const claims = checked.claims;
  const nowSeconds = Math.floor(nowMs / 1000);
  const { aud, iss, tid, exp, nbf } = claims;
  if (typeof aud !== 'string' || typeof tid !== 'string' || typeof exp !== 'number') {
    return { ok: false, reason: 'aud, tid or exp missing' };
  }
  if (iss !== accessTokenIssuer(tid)) return { ok: false, reason: `unexpected issuer ${String(iss)}` };
  if (typeof nbf === 'number' && nbf > nowSeconds) return { ok: false, reason: 'token not yet valid' };
  if (exp <= nowSeconds) return { ok: false, reason: `token expired at ${new Date(exp * 1000).toISOString()}` };
  // The shape was checked above; the remaining claims are read defensively by the caller.
  return { ok: true, claims: claims as AccessTokenClaims };
}
