/**
 * Delegated consent as Entra records it (oauth2PermissionGrants): one grant for
 * the whole organization (`AllPrincipals`, an admin's "Grant admin consent" or a
 * ticked organization checkbox on the consent page) or one per user who accepted
 * for themselves (`Principal`). The emulator models the permissions the relay
 * asks for: Exchange's delegated `SMTP.Send` and Microsoft Graph's `Mail.Send`,
 * `Mail.ReadWrite` and `User.Read`, with openid, profile, offline_access. Entra
 * keeps one grant per resource; here one grant per app and principal covers both.
 * Also the wording of those permissions on the consent page.
 */
import type { AppRegistration, Directory } from './directory.js';
import { EXCHANGE_DELEGATED_RESOURCE, isGraphResource, type ParsedScopes } from './tokens.js';

/** What one grant covers of Exchange (Entra stores it as the grant's `scope`). */
export const CONSENTED_SCOPE = 'SMTP.Send openid profile offline_access';

/** One delegated permission grant of an app. */
export interface ConsentGrant {
  tenantId: string;
  clientId: string;
  appName: string;
  /** `AllPrincipals`: for the organization; `Principal`: for one user. */
  consentType: 'AllPrincipals' | 'Principal';
  /** The user of a `Principal` grant. */
  principal?: string;
  /** Space-separated permissions: Graph's consented ones, then {@link CONSENTED_SCOPE} (or only its OpenID part). */
  scope: string;
}

/** Which grants {@link revokeConsent} removes; every field narrows, none means all. */
export interface RevokeConsentInput {
  /** Tenant id or domain. */
  tenant?: string;
  clientId?: string;
  /** Only this user's own consent; without it the organization's grant and every user's go. */
  user?: string;
}

/** A permission as the consent page lists it. */
export interface PermissionLine {
  /** e.g. `SMTP.Send`, `offline_access`. */
  permission: string;
  label: string;
}

/** User-facing names of the permissions the emulator knows (consent page wording). */
const PERMISSION_LABELS: Record<string, string> = {
  'SMTP.Send': 'Send emails from mailboxes using SMTP AUTH',
  offline_access: 'Maintain access to data you have given it access to',
  profile: 'View your basic profile',
  email: 'View your email address',
  'Mail.Send': 'Send mail as you',
  'Mail.ReadWrite': 'Read and write access to your mail',
  'User.Read': 'Sign you in and read your profile',
};

/** Delegated permissions of Exchange Online the emulator can grant. */
const EXCHANGE_DELEGATED = new Set(['SMTP.Send', '.default']);
/** Delegated permissions of Microsoft Graph the emulator can grant. */
const GRAPH_DELEGATED = new Set(['Mail.Send', 'Mail.ReadWrite', 'User.Read', '.default']);

/**
 * The Graph permissions a request asks for (`.default` included as is), or undefined
 * when it asks for none, i.e. for Exchange's SMTP.Send or only OpenID scopes.
 */
export function requestedGraphPermissions(parsed: ParsedScopes, graphResources: readonly string[]): string[] | undefined {
  for (const [resource, names] of parsed.resources) if (isGraphResource(resource, graphResources)) return names;
  return undefined;
}

/** The Graph delegated permissions `user` has consented to, for the organization or for themselves. */
export function consentedGraphPermissions(app: AppRegistration, userAddress: string): string[] {
  const own = app.graphUserConsents[userAddress.toLowerCase()] ?? [];
  return [...new Set([...app.graphDelegatedConsented, ...own])];
}

/**
 * True when `user` may get delegated tokens for `app` without a consent prompt: for
 * Exchange's SMTP.Send, or for every permission in `graphPermissions` (`.default`: any consent).
 */
export function hasDelegatedConsent(app: AppRegistration, userAddress: string, graphPermissions?: readonly string[]): boolean {
  if (graphPermissions === undefined) return app.smtpSendConsented || app.userConsents.includes(userAddress.toLowerCase());
  const granted = consentedGraphPermissions(app, userAddress);
  return granted.length > 0 && graphPermissions.every((p) => p === '.default' || granted.includes(p));
}

/** Records consent after "Accept": for the organization, or for `userAddress` only; to Graph's permissions when given. */
export function grantConsent(
  app: AppRegistration,
  userAddress: string,
  forOrganization: boolean,
  graphPermissions?: readonly string[],
): void {
  const user = userAddress.toLowerCase();
  if (graphPermissions !== undefined) {
    const names = graphPermissions.filter((p) => p !== '.default');
    if (forOrganization) app.graphDelegatedConsented = [...new Set([...app.graphDelegatedConsented, ...names])];
    else app.graphUserConsents[user] = [...new Set([...(app.graphUserConsents[user] ?? []), ...names])];
    return;
  }
  if (forOrganization) {
    app.smtpSendConsented = true;
    return;
  }
  if (!app.userConsents.includes(user)) app.userConsents.push(user);
}

/** Every delegated grant in the directory, organization grants first per app. */
export function listConsents(directory: Directory): ConsentGrant[] {
  const grants: ConsentGrant[] = [];
  const scopeOf = (graph: readonly string[], smtp: boolean): string =>
    [...graph, ...(smtp ? CONSENTED_SCOPE.split(' ') : ['openid', 'profile', 'offline_access'])].join(' ');
  for (const tenant of directory.tenants.values()) {
    for (const app of tenant.apps.values()) {
      const base = { tenantId: tenant.id, clientId: app.clientId, appName: app.displayName };
      if (app.smtpSendConsented || app.graphDelegatedConsented.length > 0) {
        grants.push({ ...base, consentType: 'AllPrincipals', scope: scopeOf(app.graphDelegatedConsented, app.smtpSendConsented) });
      }
      const principals = new Set([...app.userConsents, ...Object.keys(app.graphUserConsents)]);
      for (const principal of principals) {
        const scope = scopeOf(app.graphUserConsents[principal] ?? [], app.userConsents.includes(principal));
        grants.push({ ...base, consentType: 'Principal', principal, scope });
      }
    }
  }
  return grants;
}

/**
 * Deletes delegated grants (as `Remove-MgOauth2PermissionGrant` would); returns how many.
 * Refresh tokens stay valid but their next redemption fails with AADSTS65001.
 */
export function revokeConsent(directory: Directory, input: RevokeConsentInput = {}): number {
  const tenants = input.tenant === undefined ? [...directory.tenants.values()] : [directory.getTenant(input.tenant)];
  const user = input.user?.toLowerCase();
  let count = 0;
  for (const tenant of tenants) {
    for (const app of tenant.apps.values()) {
      if (input.clientId !== undefined && app.clientId !== input.clientId.toLowerCase()) continue;
      if (user !== undefined) {
        const had = app.userConsents.includes(user) || app.graphUserConsents[user] !== undefined;
        app.userConsents = app.userConsents.filter((u) => u !== user);
        delete app.graphUserConsents[user];
        count += had ? 1 : 0;
        continue;
      }
      const principals = new Set([...app.userConsents, ...Object.keys(app.graphUserConsents)]);
      count += principals.size + (app.smtpSendConsented || app.graphDelegatedConsented.length > 0 ? 1 : 0);
      app.userConsents = [];
      app.graphUserConsents = {};
      app.smtpSendConsented = false;
      app.graphDelegatedConsented = [];
    }
  }
  return count;
}

/**
 * The first requested permission the emulator cannot grant (Entra: AADSTS650053), or
 * undefined. Only Exchange's delegated resource, Graph's mail permissions and the
 * OpenID scopes are modelled.
 */
export function unknownPermission(
  parsed: ParsedScopes,
  graphResources: readonly string[] = [],
): { resource: string; permission: string } | undefined {
  for (const [resource, names] of parsed.resources) {
    const known = isGraphResource(resource, graphResources)
      ? GRAPH_DELEGATED
      : resource === EXCHANGE_DELEGATED_RESOURCE
        ? EXCHANGE_DELEGATED
        : new Set<string>();
    const bad = names.find((name) => !known.has(name));
    if (bad !== undefined) return { resource, permission: bad };
  }
  return undefined;
}

/** The lines of the consent page for the requested scopes (openid is not listed, as in Entra). */
export function permissionLines(parsed: ParsedScopes, graphResources: readonly string[] = []): PermissionLine[] {
  const names = [...parsed.resources.entries()].flatMap(([resource, permissions]) =>
    permissions.flatMap((name) => {
      if (name !== '.default') return [name];
      return isGraphResource(resource, graphResources) ? [] : ['SMTP.Send'];
    }),
  );
  const lines: PermissionLine[] = [];
  for (const permission of [...new Set([...names, ...parsed.oidc])]) {
    const label = PERMISSION_LABELS[permission];
    if (label !== undefined) lines.push({ permission, label });
  }
  return lines;
}
