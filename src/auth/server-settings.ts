/**
 * Email server settings as Office 365 sign-in sees them, shared by the panel,
 * the CLI and the relay: the defaults a new server starts with (STARTTLS on
 * 587 to the cloud's SMTP host, Microsoft's per-mailbox limits), and which
 * settings sign-in still lacks.
 */
import type { EmailServer, ServerSettings } from '../store/servers.js';
import { defaultSmtpHost } from './clouds.js';

/** Completes `given` with defaults; `host` stays empty for non-Microsoft or Custom-cloud servers without one. */
export function newServerSettings(given: Partial<ServerSettings> & Pick<ServerSettings, 'name'>): ServerSettings {
  const method = given.method ?? 'office365';
  const cloud = given.cloud ?? 'global';
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<ServerSettings>;
  return {
    method,
    signInMode: 'application',
    secure: 'tls',
    host: method === 'office365' && cloud !== 'custom' ? defaultSmtpHost(cloud) : '',
    port: 587,
    tenantId: null,
    clientId: null,
    clientSecret: null,
    clientSecretExpires: null,
    cloud,
    authorityHost: null,
    smtpResource: null,
    mailbox: null,
    username: null,
    password: null,
    maxConnections: 3,
    messagesPerMinute: 30,
    recipientsPerDay: 10_000,
    fromHandling: 'keep',
    sendAs: [],
    ...defined,
    name: given.name,
  };
}

/** Labels of the settings Office 365 sign-in still needs; Mailbox only for Application sign-in (Authorize Account fills it in). */
export function missingOffice365Settings(server: EmailServer): string[] {
  const missing: string[] = [];
  if (!server.tenantId) missing.push('Office 365 Tenant ID');
  if (!server.clientId) missing.push('Office 365 Client ID');
  if (!server.hasClientSecret) missing.push('Office 365 Client Secret');
  if (server.cloud === 'custom' && !server.authorityHost) missing.push('Authority Host');
  if (server.cloud === 'custom' && !server.smtpResource) missing.push('SMTP Resource');
  if (!server.mailbox && server.signInMode === 'application') missing.push('Mailbox');
  return missing;
}
