/**
 * Who calls Microsoft Graph and what they may do: the bearer token (signature,
 * lifetime, a Graph audience), the app or signed-in user behind it, the mailbox a
 * path names, and the permission checks Exchange makes — `roles` of app tokens or
 * an RBAC for Applications assignment in scope, `scp` of delegated tokens, Send
 * As for the From address, and User.Read* for reading a user.
 */
import { listsPrincipal, type AppRegistration, type Directory, type Mailbox, type Tenant } from './directory.js';
import { rbacGrants } from './exchange-rbac.js';
import { graphErrors, type GraphError, type UnknownUserCode } from './graph-errors.js';
import { GRAPH_APP_ID, type TokenVerification } from './tokens.js';
import { maySendAs } from './xoauth2.js';

/** The caller behind a valid Graph token. */
export interface GraphCaller {
  tenant: Tenant;
  app: AppRegistration;
  kind: 'app' | 'delegated';
  /** The signed-in user of a delegated token. */
  user?: Mailbox;
  /** Application permissions of an app token. */
  roles: string[];
  /** Delegated permissions of a user token. */
  scopes: string[];
}

/** What the token check reads. */
export interface GraphAuthContext {
  directory: Directory;
  verify: (token: string) => TokenVerification;
  /** Audiences Graph accepts: https://graph.microsoft.com, Graph's app id, the emulator's URL. */
  audiences: readonly string[];
}

/** Permissions that let an app read users (GET /users/{id}). */
const READ_USERS_APP = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** Delegated permissions that let a user read another user. */
const READ_USERS_DELEGATED = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All'];

/** Checks the `Authorization` header; answers Graph's 401 when the token is not good for Graph. */
export function authenticateGraphCaller(authorization: string | undefined, ctx: GraphAuthContext): GraphCaller | GraphError {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token) return graphErrors.invalidToken('Access token is empty.');
  const verified = ctx.verify(token);
  if (!verified.ok) {
    if (verified.reason.startsWith('token expired')) return graphErrors.invalidToken('Lifetime validation failed, the token is expired.');
    if (verified.reason === 'token not yet valid')
      return graphErrors.invalidToken('Lifetime validation failed, the token is not yet valid.');
    if (verified.reason.startsWith('not a JWS') || verified.reason.startsWith('token segments')) {
      return graphErrors.invalidToken('CompactToken parsing failed with error code: 80049217');
    }
    return graphErrors.invalidToken('Access token validation failure.');
  }
  const claims = verified.claims;
  if (!ctx.audiences.includes(claims.aud)) return graphErrors.invalidToken('Access token validation failure. Invalid audience.');
  const tenant = ctx.directory.findTenant(claims.tid);
  const app = tenant?.apps.get(String(claims.appid).toLowerCase());
  if (!tenant || !app) return graphErrors.invalidToken('Access token validation failure.');
  const isApp = claims.idtyp === 'app' || (claims.scp === undefined && claims.upn === undefined);
  if (isApp) return { tenant, app, kind: 'app', roles: Array.isArray(claims.roles) ? claims.roles : [], scopes: [] };
  const user = tenant.mailboxes.get(String(claims.upn ?? '').toLowerCase());
  if (!user || user.shared) return graphErrors.invalidToken('Access token validation failure.');
  return {
    tenant,
    app,
    kind: 'delegated',
    user,
    roles: [],
    scopes: String(claims.scp ?? '')
      .split(' ')
      .filter(Boolean),
  };
}

/** Audiences a Graph token may carry when the emulator answers at `graphUrl`. */
export function graphAudiences(graphUrl: string): string[] {
  return ['https://graph.microsoft.com', GRAPH_APP_ID, graphUrl];
}

/**
 * The mailbox a path names: `me` (delegated tokens only) or `users/{address | object id}`
 * in the caller's tenant; undefined when no such user exists.
 */
export function findPathMailbox(caller: GraphCaller, pathUser: string | undefined): Mailbox | undefined | GraphError {
  if (pathUser === undefined) return caller.user ?? graphErrors.meWithAppToken();
  const id = pathUser.toLowerCase();
  return caller.tenant.mailboxes.get(id) ?? [...caller.tenant.mailboxes.values()].find((m) => m.oid === id);
}

/** The mailbox of a mail request, or the 404 Graph gives for it. */
export function mailMailbox(caller: GraphCaller, pathUser: string | undefined, unknownUser: UnknownUserCode): Mailbox | GraphError {
  const mailbox = findPathMailbox(caller, pathUser);
  if (mailbox === undefined) return graphErrors.unknownUser(pathUser ?? 'me', unknownUser);
  if ('code' in mailbox) return mailbox;
  return mailbox.restApiEnabled ? mailbox : graphErrors.mailboxNotEnabled();
}

/**
 * May the caller use `permission` (Mail.Send, Mail.ReadWrite) on `mailbox`? Apps need the
 * role in their token (admin consent, every mailbox) or an RBAC assignment in scope;
 * users need the scope and the mailbox to be theirs or one they have FullAccess on.
 */
export function mailPermission(caller: GraphCaller, mailbox: Mailbox, permission: string): GraphError | undefined {
  const named = permission === 'Mail.Send' ? undefined : permission;
  if (caller.kind === 'app') {
    const subject = { managementScopes: caller.tenant.managementScopes, roleAssignments: caller.app.roleAssignments };
    return caller.roles.includes(permission) || rbacGrants(subject, permission, mailbox.address)
      ? undefined
      : graphErrors.accessDenied(named);
  }
  const user = caller.user?.address ?? '';
  const ownsMailbox = mailbox.address === user || listsPrincipal(mailbox.fullAccess, user);
  return caller.scopes.includes(permission) && ownsMailbox ? undefined : graphErrors.accessDenied(named);
}

/** May the caller read `mailbox`'s user (GET /users/{id}, /me)? Checked before Graph says whether it exists. */
export function readUserPermission(caller: GraphCaller, mailbox: Mailbox | undefined): GraphError | undefined {
  if (caller.kind === 'app') return caller.roles.some((r) => READ_USERS_APP.includes(r)) ? undefined : graphErrors.insufficientPrivileges();
  const self = mailbox !== undefined && mailbox.address === caller.user?.address;
  const allowed = (self && caller.scopes.includes('User.Read')) || caller.scopes.some((s) => READ_USERS_DELEGATED.includes(s));
  return allowed ? undefined : graphErrors.insufficientPrivileges();
}

/** ErrorSendAsDenied unless the caller may send from `mailbox` with `from` as the From address. */
export function sendAsCheck(caller: GraphCaller, mailbox: Mailbox, from: string, directory: Directory): GraphError | undefined {
  const session = {
    user: mailbox.address,
    mailbox: mailbox.address,
    tenantId: caller.tenant.id,
    tokenKind: caller.kind,
    principal: caller.kind === 'app' ? caller.app.clientId : (caller.user?.address ?? ''),
  };
  return maySendAs(session, from.toLowerCase(), directory) ? undefined : graphErrors.sendAsDenied();
}
