/**
 * Delegated consent as Entra records it (oauth2PermissionGrants): one grant for
 * the whole organization (`AllPrincipals`, an admin's "Grant admin consent" or a
 * ticked organization checkbox on the consent page) or one per user who accepted
 * for themselves (`Principal`). The emulator models the permissions the relay
 * asks for: Exchange's delegated `SMTP.Send` with openid, profile, offline_access.
 * Also the wording of those permissions on the consent page.
 */
import type { AppRegistration, Directory } from './directory.js';
import { EXCHANGE_DELEGATED_RESOURCE, type ParsedScopes } from './tokens.js';

/** What one grant covers (Entra stores it as the grant's `scope`). */
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
  /** Space-separated permissions, {@link CONSENTED_SCOPE}. */
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
};

/** Delegated permissions of Exchange Online the emulator can grant. */
const EXCHANGE_DELEGATED = new Set(['SMTP.Send', '.default']);

/** True when `user` may get delegated tokens for `app` without a consent prompt. */
export function hasDelegatedConsent(app: AppRegistration, userAddress: string): boolean {
  return app.smtpSendConsented || app.userConsents.includes(userAddress.toLowerCase());
}

/** Records consent after "Accept": for the organization, or for `userAddress` only. */
export function grantConsent(app: AppRegistration, userAddress: string, forOrganization: boolean): void {
  if (forOrganization) {
    app.smtpSendConsented = true;
    return;
  }
  const user = userAddress.toLowerCase();
  if (!app.userConsents.includes(user)) app.userConsents.push(user);
}

/** Every delegated grant in the directory, organization grants first per app. */
export function listConsents(directory: Directory): ConsentGrant[] {
  const grants: ConsentGrant[] = [];
  for (const tenant of directory.tenants.values()) {
    for (const app of tenant.apps.values()) {
      const base = { tenantId: tenant.id, clientId: app.clientId, appName: app.displayName, scope: CONSENTED_SCOPE };
      if (app.smtpSendConsented) grants.push({ ...base, consentType: 'AllPrincipals' });
      for (const principal of app.userConsents) grants.push({ ...base, consentType: 'Principal', principal });
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
        const before = app.userConsents.length;
        app.userConsents = app.userConsents.filter((u) => u !== user);
        count += before - app.userConsents.length;
        continue;
      }
      count += app.userConsents.length + (app.smtpSendConsented ? 1 : 0);
      app.userConsents = [];
      app.smtpSendConsented = false;
    }
  }
  return count;
}

/**
 * The first requested permission the emulator cannot grant (Entra: AADSTS650053), or
 * undefined. Only Exchange's delegated resource and the OpenID scopes are modelled.
 */
export function unknownPermission(parsed: ParsedScopes): { resource: string; permission: string } | undefined {
  for (const [resource, names] of parsed.resources) {
    const bad = names.find((name) => resource !== EXCHANGE_DELEGATED_RESOURCE || !EXCHANGE_DELEGATED.has(name));
    if (bad !== undefined) return { resource, permission: bad };
  }
  return undefined;
}

/** The lines of the consent page for the requested scopes (openid is not listed, as in Entra). */
export function permissionLines(parsed: ParsedScopes): PermissionLine[] {
  const names = [...parsed.resources.values()].flat().map((name) => (name === '.default' ? 'SMTP.Send' : name));
  const lines: PermissionLine[] = [];
  for (const permission of [...new Set([...names, ...parsed.oidc])]) {
    const label = PERMISSION_LABELS[permission];
    if (label !== undefined) lines.push({ permission, label });
  }
  return lines;
}
