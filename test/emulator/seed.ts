/**
 * The emulator's default tenant: what an admin has after following the setup
 * guide to the end. One tenant, one app registration with a known secret,
 * SMTP.SendAsApp and SMTP.Send consented and its service principal registered in
 * Exchange, Microsoft Graph's Mail.Send and Mail.ReadWrite application permissions
 * and Mail.Send and User.Read delegated consented, and the mailbox relay@contoso.test
 * (whose user is an admin) that the app has FullAccess and SendAs on. The ids are fixed so tests and fixtures can refer to them.
 */
import type { AppRegistration, Directory, Mailbox, Tenant } from './directory.js';

/** Fixed ids, secrets and addresses of {@link seedDefault}. */
export const SEED = Object.freeze({
  tenantId: '5b2d7c1e-8a43-4f6b-9d05-c3e1a7f2b819',
  tenantDomain: 'contoso.test',
  tenantInitialDomain: 'contoso.onmicrosoft.com',
  clientId: '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94',
  /** Object id of the app registration (the wrong id for New-ServicePrincipal). */
  appObjectId: 'c81f0d37-62a9-4e15-bb70-4a9e2d5c1f63',
  /** Object id of the enterprise application (service principal). */
  servicePrincipalId: '2f7e9b40-d15c-4a86-8e3b-6c0a4d9f2e17',
  clientSecret: 'Rly8Q~emulator.Secret.Value.0123456789abcdef',
  clientSecretId: '71c3e5a8-0f2d-4b9c-86e4-3a1d5f7b9c02',
  /** The relay's mailbox, used in XOAUTH2 `user=`. */
  mailbox: 'relay@contoso.test',
  mailboxOid: 'e6a1b3d5-7c9f-4e20-a4b6-8d0f2c4e6a81',
  mailboxPassword: 'Relay-Password-1',
  /** `{RELAY365_PUBLIC_URL default}/oauth/office365/callback`. */
  redirectUri: 'http://localhost:8025/oauth/office365/callback',
});

/** What {@link seedDefault} created. */
export interface SeededDefault {
  tenant: Tenant;
  app: AppRegistration;
  mailbox: Mailbox;
}

/** Options of {@link seedDefault}. */
export interface SeedOptions {
  /** Clock used for the secret's expiry (two years from now). */
  now?: number;
}

const SECRET_LIFETIME_MS = 730 * 24 * 60 * 60 * 1000;

/** Adds the default tenant, app and mailbox described by {@link SEED} to `directory`. */
export function seedDefault(directory: Directory, options: SeedOptions = {}): SeededDefault {
  const now = options.now ?? Date.now();
  const tenant = directory.addTenant({
    id: SEED.tenantId,
    domains: [SEED.tenantDomain, SEED.tenantInitialDomain],
    displayName: 'Contoso (emulator)',
  });
  const app = directory.addApp(tenant.id, {
    clientId: SEED.clientId,
    objectId: SEED.appObjectId,
    servicePrincipalId: SEED.servicePrincipalId,
    displayName: 'relay365',
    secrets: [{ value: SEED.clientSecret, id: SEED.clientSecretId, expiresAt: new Date(now + SECRET_LIFETIME_MS) }],
    redirectUris: [SEED.redirectUri],
    smtpSendAsAppConsented: true,
    smtpSendConsented: true,
    servicePrincipalRegistered: true,
    graphApplicationPermissions: ['Mail.Send', 'Mail.ReadWrite'],
    graphDelegatedConsented: ['Mail.Send', 'User.Read'],
  });
  const mailbox = directory.addUser(tenant.id, {
    address: SEED.mailbox,
    oid: SEED.mailboxOid,
    displayName: 'Relay',
    password: SEED.mailboxPassword,
    isAdmin: true,
    fullAccess: [SEED.clientId],
    sendAs: [SEED.clientId],
  });
  return { tenant, app, mailbox };
}
