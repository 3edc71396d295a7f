/**
 * Exchange Online's decision on `AUTH XOAUTH2`: is the bearer token good for
 * SMTP, and may its principal use the mailbox named in `user=`? App-only tokens
 * need audience https://outlook.office365.com, the SMTP.SendAsApp role, a service
 * principal registered in Exchange and FullAccess on the mailbox; delegated
 * tokens need the SMTP.Send scope and `user=` to be the signed-in user or a
 * mailbox they have FullAccess on. SMTP AUTH must be enabled for the tenant and
 * the mailbox.
 */
import { listsPrincipal, type Directory } from './directory.js';
import type { TokenVerification } from './tokens.js';
import { EXCHANGE_APP_RESOURCE, EXCHANGE_DELEGATED_RESOURCE } from './tokens.js';

/** Who an authenticated SMTP session acts as. */
export interface SessionPrincipal {
  /** `user=` as the client sent it. */
  user: string;
  /** The mailbox address `user=` resolved to (lower case). */
  mailbox: string;
  tenantId: string;
  tokenKind: 'app' | 'delegated';
  /** The app's client id, or the signed-in user's UPN. */
  principal: string;
}

/** Why XOAUTH2 failed; `disabled` becomes 5.7.139, `unsuccessful` 5.7.3. */
export type Xoauth2Failure = { kind: 'unsuccessful'; reason: string } | { kind: 'disabled'; scope: 'Tenant' | 'Mailbox'; reason: string };

/** The decision on one XOAUTH2 attempt. */
export type Xoauth2Decision = { ok: true; session: SessionPrincipal } | ({ ok: false } & Xoauth2Failure);

/** What the decision reads. */
export interface Xoauth2Context {
  directory: Directory;
  verify: (token: string) => TokenVerification;
}

const APP_AUDIENCES = [EXCHANGE_APP_RESOURCE];
const DELEGATED_AUDIENCES = [EXCHANGE_DELEGATED_RESOURCE, EXCHANGE_APP_RESOURCE];

const unsuccessful = (reason: string): Xoauth2Decision => ({ ok: false, kind: 'unsuccessful', reason });

/** Decides an `AUTH XOAUTH2` with `user=` and bearer `accessToken`. */
export function decideXoauth2(user: string, accessToken: string, ctx: Xoauth2Context): Xoauth2Decision {
  const verified = ctx.verify(accessToken);
  if (!verified.ok) return unsuccessful(verified.reason);
  const claims = verified.claims;
  const tenant = ctx.directory.findTenant(claims.tid);
  if (!tenant) return unsuccessful(`unknown tenant ${claims.tid}`);
  const isApp = claims.idtyp === 'app' || (claims.scp === undefined && claims.upn === undefined);
  const audiences = isApp ? APP_AUDIENCES : DELEGATED_AUDIENCES;
  if (!audiences.includes(claims.aud)) return unsuccessful(`audience ${claims.aud} is not Exchange Online SMTP`);
  if (isApp && !(Array.isArray(claims.roles) && claims.roles.includes('SMTP.SendAsApp'))) {
    return unsuccessful('app token without the SMTP.SendAsApp role');
  }
  if (
    !isApp &&
    !String(claims.scp ?? '')
      .split(' ')
      .includes('SMTP.Send')
  ) {
    return unsuccessful('delegated token without the SMTP.Send scope');
  }
  const mailbox = tenant.mailboxes.get(user.toLowerCase());
  if (!mailbox) return unsuccessful(`no mailbox ${user} in tenant ${tenant.id}`);
  if (!tenant.smtpAuthEnabled) return { ok: false, kind: 'disabled', scope: 'Tenant', reason: 'SMTP AUTH disabled for the tenant' };
  if (!mailbox.smtpAuthEnabled) return { ok: false, kind: 'disabled', scope: 'Mailbox', reason: 'SMTP AUTH disabled for the mailbox' };
  const session = { user, mailbox: mailbox.address, tenantId: tenant.id };
  if (isApp) {
    const app = tenant.apps.get(String(claims.appid).toLowerCase());
    if (!app?.servicePrincipalRegistered) return unsuccessful('service principal not registered in Exchange (New-ServicePrincipal)');
    if (app.registeredObjectId !== String(claims.oid).toLowerCase()) {
      return unsuccessful('service principal registered with another object id than the enterprise application');
    }
    if (!listsPrincipal(mailbox.fullAccess, app.clientId, app.servicePrincipalId)) {
      return unsuccessful(`app ${app.clientId} has no FullAccess on ${mailbox.address}`);
    }
    return { ok: true, session: { ...session, tokenKind: 'app', principal: app.clientId } };
  }
  const upn = String(claims.upn ?? '').toLowerCase();
  const signedIn = tenant.mailboxes.get(upn);
  if (!signedIn || signedIn.shared) return unsuccessful(`token user ${upn} cannot sign in`);
  if (upn !== mailbox.address && !listsPrincipal(mailbox.fullAccess, upn)) {
    return unsuccessful(`${upn} has no FullAccess on ${mailbox.address}`);
  }
  return { ok: true, session: { ...session, tokenKind: 'delegated', principal: upn } };
}

/** True when the session's principal may send with `from` in the From header. */
export function maySendAs(session: SessionPrincipal, from: string, directory: Directory): boolean {
  if (from === session.mailbox) return true;
  // A user may always send as themselves.
  if (session.tokenKind === 'delegated' && from === session.principal) return true;
  const target = directory.findMailbox(from, session.tenantId);
  if (!target) return false;
  const app = session.tokenKind === 'app' ? directory.findApp(session.tenantId, session.principal) : undefined;
  const identities = app ? [app.clientId, app.servicePrincipalId] : [session.principal];
  return listsPrincipal(target.sendAs, ...identities);
}
