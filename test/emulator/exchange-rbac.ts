/**
 * Exchange Online RBAC for Applications as the Graph emulator applies it:
 * management scopes (`New-ManagementScope -RecipientRestrictionFilter`, kept as
 * the list of mailboxes the filter matches), role assignments to an app's
 * service principal (`New-ManagementRoleAssignment -App <sp> -Role "Application
 * Mail.Send" -CustomResourceScope <scope>`), and what
 * `Test-ServicePrincipalAuthorization -Identity <sp> -Resource <mailbox>` answers.
 * An assignment grants its permission on the mailboxes in scope even when the
 * token carries no such role; Entra admin consent grants it on every mailbox.
 */

/** A management scope; `mailboxes` are the addresses its recipient filter matches (lower case). */
export interface ManagementScope {
  name: string;
  mailboxes: string[];
}

/** An RBAC for Applications role assignment of an app. */
export interface AppRoleAssignment {
  /** e.g. `Application Mail.Send`, `Application Mail.ReadWrite`. */
  role: string;
  /** Name of a management scope; none means the whole organization. */
  scope?: string;
}

/** One line of `Test-ServicePrincipalAuthorization`. */
export interface ServicePrincipalAuthorization {
  roleName: string;
  grantedPermissions: string;
  allowedResourceScope: string;
  scopeType: 'CustomRecipientScope' | 'Organization';
  inScope: boolean;
}

/** What the RBAC decision reads from the directory. */
export interface RbacSubject {
  managementScopes: ReadonlyMap<string, ManagementScope>;
  roleAssignments: readonly AppRoleAssignment[];
}

const ROLE_PREFIX = 'Application ';

/** Answers `Test-ServicePrincipalAuthorization` for one mailbox: one line per role assignment. */
export function testServicePrincipalAuthorization(subject: RbacSubject, mailbox: string): ServicePrincipalAuthorization[] {
  const address = mailbox.toLowerCase();
  return subject.roleAssignments.map((assignment) => {
    const scope = assignment.scope === undefined ? undefined : subject.managementScopes.get(assignment.scope.toLowerCase());
    return {
      roleName: assignment.role,
      grantedPermissions: assignment.role.startsWith(ROLE_PREFIX) ? assignment.role.slice(ROLE_PREFIX.length) : assignment.role,
      allowedResourceScope: assignment.scope ?? 'Organization',
      scopeType: assignment.scope === undefined ? 'Organization' : 'CustomRecipientScope',
      // An assignment naming a scope that no longer exists covers nothing.
      inScope: assignment.scope === undefined || (scope?.mailboxes.includes(address) ?? false),
    };
  });
}

/** True when an RBAC assignment grants `permission` (e.g. `Mail.Send`) on `mailbox`. */
export function rbacGrants(subject: RbacSubject, permission: string, mailbox: string): boolean {
  return testServicePrincipalAuthorization(subject, mailbox).some((line) => line.inScope && line.grantedPermissions === permission);
}
