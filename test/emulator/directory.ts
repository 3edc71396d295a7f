/**
 * The Microsoft 365 emulator's state, shared by the identity platform and the
 * Exchange SMTP server: tenants, app registrations, mailboxes, and the switches
 * an admin flips in Entra ID and Exchange Online (admin consent,
 * `New-ServicePrincipal`, `Add-MailboxPermission`, `Add-RecipientPermission`,
 * `Set-CASMailbox`/`Set-TransportConfig -SmtpClientAuthenticationDisabled`), the
 * Microsoft Graph permissions of apps, their certificates and Exchange RBAC for
 * Applications (`New-ManagementScope`, `New-ManagementRoleAssignment`).
 * Plain mutable objects: tests change a switch and the next request sees it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { certificateCredential, type CertificateCredential, type CertificateDates } from './certificates.js';
import {
  testServicePrincipalAuthorization,
  type AppRoleAssignment,
  type ManagementScope,
  type ServicePrincipalAuthorization,
} from './exchange-rbac.js';

/** A client secret of an app registration ("Certificates & secrets"). */
export interface ClientSecret {
  /** The secret value, the only thing a client sends. */
  value: string;
  /** The "Secret ID" shown next to it (pasting it instead of the value is the classic mistake). */
  id: string;
  expiresAt: Date;
}

/** An app registration together with its enterprise application (service principal). */
export interface AppRegistration {
  /** Application (client) ID. */
  clientId: string;
  /** Object ID of the app registration: NOT what Exchange's New-ServicePrincipal wants. */
  objectId: string;
  /** Object ID of the enterprise application: the `oid` of app-only tokens. */
  servicePrincipalId: string;
  displayName: string;
  secrets: ClientSecret[];
  redirectUris: string[];
  /** Application permission Office 365 Exchange Online `SMTP.SendAsApp` with admin consent. */
  smtpSendAsAppConsented: boolean;
  /**
   * Delegated permission `SMTP.Send` (with openid, profile, offline_access) consented for the
   * whole organization: an admin's "Grant admin consent" or a ticked "Consent on behalf of your
   * organization". Without it, or the user's own consent in {@link userConsents}, AADSTS65001.
   */
  smtpSendConsented: boolean;
  /** Users (addresses, lower case) who consented to the delegated permissions for themselves only. */
  userConsents: string[];
  /** Exchange `New-ServicePrincipal -AppId <clientId> -ObjectId <id>` was run. */
  servicePrincipalRegistered: boolean;
  /** The `-ObjectId` given to New-ServicePrincipal; must equal `servicePrincipalId` to work. */
  registeredObjectId: string;
  /** Microsoft Graph application permissions with admin consent (the `roles` of Graph app tokens), e.g. `Mail.Send`. */
  graphApplicationPermissions: string[];
  /** Microsoft Graph delegated permissions consented for the whole organization, e.g. `Mail.Send`. */
  graphDelegatedConsented: string[];
  /** Graph delegated permissions users consented to for themselves only: address (lower case) → permissions. */
  graphUserConsents: Record<string, string[]>;
  /** Certificates uploaded to the app (certificate credentials). */
  certificates: CertificateCredential[];
  /** Exchange RBAC for Applications assignments of the app's service principal. */
  roleAssignments: AppRoleAssignment[];
}

/** A mailbox (user or shared) in Exchange Online, with its Entra user when it can sign in. */
export interface Mailbox {
  /** Primary SMTP address, lower case; also the user's UPN. */
  address: string;
  /** Entra object id of the user. */
  oid: string;
  displayName: string;
  /** Password of the user (the emulated sign-in has no password page yet). Shared mailboxes cannot sign in. */
  password: string;
  shared: boolean;
  /** Holds an admin role (e.g. Global or Cloud Application Administrator): may consent for the organization. */
  isAdmin: boolean;
  /** `Set-CASMailbox -SmtpClientAuthenticationDisabled $false`; default true. */
  smtpAuthEnabled: boolean;
  /** Principals (user addresses or app client ids / service principal ids) that may use this mailbox in XOAUTH2 `user=`. */
  fullAccess: string[];
  /** Principals that may send with a From header of this address. */
  sendAs: string[];
  /** False for a mailbox Graph cannot reach (inactive, soft-deleted, on-premises): MailboxNotEnabledForRESTAPI. */
  restApiEnabled: boolean;
}

/** An Entra tenant with its Exchange Online organization. */
export interface Tenant {
  /** Directory (tenant) ID, a GUID in lower case. */
  id: string;
  /** Verified domains, lower case; the first is the default. */
  domains: string[];
  displayName: string;
  /** `Set-TransportConfig -SmtpClientAuthenticationDisabled $false`; default true. */
  smtpAuthEnabled: boolean;
  apps: Map<string, AppRegistration>;
  mailboxes: Map<string, Mailbox>;
  /** Exchange management scopes by name (lower case). */
  managementScopes: Map<string, ManagementScope>;
}

/** Input of {@link Directory.addTenant}. */
export interface TenantInput {
  id?: string;
  domains: string[];
  displayName?: string;
  smtpAuthEnabled?: boolean;
}

/** Input of {@link Directory.addApp}. */
export interface AppInput {
  clientId?: string;
  objectId?: string;
  servicePrincipalId?: string;
  displayName?: string;
  secrets?: Array<Partial<ClientSecret>>;
  redirectUris?: string[];
  smtpSendAsAppConsented?: boolean;
  smtpSendConsented?: boolean;
  userConsents?: string[];
  servicePrincipalRegistered?: boolean;
  registeredObjectId?: string;
  graphApplicationPermissions?: string[];
  graphDelegatedConsented?: string[];
}

/** Input of {@link Directory.addUser}. */
export interface MailboxInput {
  address: string;
  oid?: string;
  displayName?: string;
  password?: string;
  shared?: boolean;
  isAdmin?: boolean;
  smtpAuthEnabled?: boolean;
  fullAccess?: string[];
  sendAs?: string[];
  restApiEnabled?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** A client secret value in the shape Entra generates (`xxx8Q~` + 37 characters). */
export function generateSecretValue(): string {
  const body = randomBytes(30).toString('base64url').replace(/[-_]/g, '.').slice(0, 37);
  return `${randomBytes(2).toString('hex').slice(0, 3)}8Q~${body}`;
}

/** The emulator's directory: create it with {@link createDirectory}. */
export class Directory {
  /** Tenants by id. */
  readonly tenants = new Map<string, Tenant>();

  /** Adds a tenant; its id is generated unless given. */
  addTenant(input: TenantInput): Tenant {
    const tenant: Tenant = {
      id: (input.id ?? randomUUID()).toLowerCase(),
      domains: input.domains.map((d) => d.toLowerCase()),
      displayName: input.displayName ?? input.domains[0] ?? 'Tenant',
      smtpAuthEnabled: input.smtpAuthEnabled ?? true,
      apps: new Map(),
      mailboxes: new Map(),
      managementScopes: new Map(),
    };
    if (this.findTenant(tenant.id) || tenant.domains.some((d) => this.findTenant(d))) {
      throw new Error(`tenant ${tenant.id} or one of its domains already exists`);
    }
    this.tenants.set(tenant.id, tenant);
    return tenant;
  }

  /** Registers an app in a tenant (id or domain) with its service principal. */
  addApp(tenantRef: string, input: AppInput = {}): AppRegistration {
    const tenant = this.getTenant(tenantRef);
    const servicePrincipalId = (input.servicePrincipalId ?? randomUUID()).toLowerCase();
    const app: AppRegistration = {
      clientId: (input.clientId ?? randomUUID()).toLowerCase(),
      objectId: (input.objectId ?? randomUUID()).toLowerCase(),
      servicePrincipalId,
      displayName: input.displayName ?? 'relay365',
      secrets: [],
      redirectUris: [...(input.redirectUris ?? [])],
      smtpSendAsAppConsented: input.smtpSendAsAppConsented ?? false,
      smtpSendConsented: input.smtpSendConsented ?? false,
      userConsents: (input.userConsents ?? []).map((u) => u.toLowerCase()),
      servicePrincipalRegistered: input.servicePrincipalRegistered ?? false,
      registeredObjectId: (input.registeredObjectId ?? servicePrincipalId).toLowerCase(),
      graphApplicationPermissions: [...(input.graphApplicationPermissions ?? [])],
      graphDelegatedConsented: [...(input.graphDelegatedConsented ?? [])],
      graphUserConsents: {},
      certificates: [],
      roleAssignments: [],
    };
    tenant.apps.set(app.clientId, app);
    for (const secret of input.secrets ?? []) this.addSecret(tenant.id, app.clientId, secret);
    return app;
  }

  /** Adds a client secret to an app (default: random value, valid two years). */
  addSecret(tenantRef: string, clientId: string, input: Partial<ClientSecret> = {}): ClientSecret {
    const secret: ClientSecret = {
      value: input.value ?? generateSecretValue(),
      id: input.id ?? randomUUID(),
      expiresAt: input.expiresAt ?? new Date(Date.now() + 730 * DAY_MS),
    };
    this.getApp(tenantRef, clientId).secrets.push(secret);
    return secret;
  }

  /** Adds a mailbox (and, unless shared, a user who can sign in). */
  addUser(tenantRef: string, input: MailboxInput): Mailbox {
    const tenant = this.getTenant(tenantRef);
    const mailbox: Mailbox = {
      address: input.address.toLowerCase(),
      oid: (input.oid ?? randomUUID()).toLowerCase(),
      displayName: input.displayName ?? input.address.split('@')[0] ?? input.address,
      password: input.password ?? randomBytes(12).toString('base64url'),
      shared: input.shared ?? false,
      isAdmin: input.isAdmin ?? false,
      smtpAuthEnabled: input.smtpAuthEnabled ?? true,
      fullAccess: [...(input.fullAccess ?? [])],
      sendAs: [...(input.sendAs ?? [])],
      restApiEnabled: input.restApiEnabled ?? true,
    };
    tenant.mailboxes.set(mailbox.address, mailbox);
    return mailbox;
  }

  /** `Add-MailboxPermission -AccessRights FullAccess`: lets `principal` use the mailbox in `user=`. */
  grantFullAccess(address: string, principal: string): void {
    this.getMailbox(address).fullAccess.push(principal.toLowerCase());
  }

  /** `Add-RecipientPermission -AccessRights SendAs`: lets `principal` send with this From. */
  grantSendAs(address: string, principal: string): void {
    this.getMailbox(address).sendAs.push(principal.toLowerCase());
  }

  /** Uploads a certificate (PEM) to an app; its validity is registered unless `dates` override it. */
  addCertificate(tenantRef: string, clientId: string, pem: string, dates: CertificateDates = {}): CertificateCredential {
    const credential = certificateCredential(pem, dates);
    this.getApp(tenantRef, clientId).certificates.push(credential);
    return credential;
  }

  /** `New-ManagementScope -Name <name> -RecipientRestrictionFilter …`, kept as the addresses it matches. */
  addManagementScope(tenantRef: string, name: string, mailboxes: string[]): ManagementScope {
    const scope: ManagementScope = { name, mailboxes: mailboxes.map((m) => m.toLowerCase()) };
    this.getTenant(tenantRef).managementScopes.set(name.toLowerCase(), scope);
    return scope;
  }

  /** `New-ManagementRoleAssignment -App <sp> -Role <role> [-CustomResourceScope <scope>]`. */
  assignAppRole(tenantRef: string, clientId: string, role: string, scope?: string): AppRoleAssignment {
    const assignment: AppRoleAssignment = scope === undefined ? { role } : { role, scope };
    this.getApp(tenantRef, clientId).roleAssignments.push(assignment);
    return assignment;
  }

  /** `Test-ServicePrincipalAuthorization -Identity <sp> -Resource <mailbox>`. */
  testServicePrincipalAuthorization(tenantRef: string, clientId: string, mailbox: string): ServicePrincipalAuthorization[] {
    const tenant = this.getTenant(tenantRef);
    const app = this.getApp(tenant.id, clientId);
    return testServicePrincipalAuthorization({ managementScopes: tenant.managementScopes, roleAssignments: app.roleAssignments }, mailbox);
  }

  /** Finds a tenant by id or by one of its domains (case-insensitive). */
  findTenant(ref: string): Tenant | undefined {
    const key = ref.toLowerCase();
    const byId = this.tenants.get(key);
    if (byId) return byId;
    for (const tenant of this.tenants.values()) {
      if (tenant.domains.includes(key)) return tenant;
    }
    return undefined;
  }

  /** Finds an app registration of a tenant by client id. */
  findApp(tenantRef: string, clientId: string): AppRegistration | undefined {
    return this.findTenant(tenantRef)?.apps.get(clientId.toLowerCase());
  }

  /** Finds a mailbox by address, in one tenant or (without a tenant) in any. */
  findMailbox(address: string, tenantRef?: string): Mailbox | undefined {
    const key = address.toLowerCase();
    if (tenantRef !== undefined) return this.findTenant(tenantRef)?.mailboxes.get(key);
    for (const tenant of this.tenants.values()) {
      const mailbox = tenant.mailboxes.get(key);
      if (mailbox) return mailbox;
    }
    return undefined;
  }

  /** Like {@link findTenant} but throws when missing (for test set-up code). */
  getTenant(ref: string): Tenant {
    const tenant = this.findTenant(ref);
    if (!tenant) throw new Error(`no tenant ${ref} in the emulator directory`);
    return tenant;
  }

  /** Like {@link findApp} but throws when missing. */
  getApp(tenantRef: string, clientId: string): AppRegistration {
    const app = this.findApp(tenantRef, clientId);
    if (!app) throw new Error(`no app ${clientId} in tenant ${tenantRef}`);
    return app;
  }

  /** Like {@link findMailbox} but throws when missing. */
  getMailbox(address: string, tenantRef?: string): Mailbox {
    const mailbox = this.findMailbox(address, tenantRef);
    if (!mailbox) throw new Error(`no mailbox ${address} in the emulator directory`);
    return mailbox;
  }
}

/** Creates an empty directory; see `seedDefault` for a ready-made tenant. */
export function createDirectory(): Directory {
  return new Directory();
}

/** True when `principal` (an address, client id or service principal id) is one of `list`. */
export function listsPrincipal(list: readonly string[], ...identities: string[]): boolean {
  const wanted = new Set(identities.map((i) => i.toLowerCase()));
  return list.some((entry) => wanted.has(entry.toLowerCase()));
}
