/**
 * Email server settings as Office 365 sign-in sees them, shared by the panel,
 * the CLI and the relay: the defaults a new server starts with (STARTTLS on
 * 587 to the cloud's SMTP host, Microsoft's per-mailbox limits), and which
 * settings sign-in still lacks.
 */
import { SETTINGS, settingDefaults, type SettingKey } from '../store/server-schema.js';
import type { EmailServer, ServerSettings } from '../store/servers.js';
import { defaultSmtpHost } from './clouds.js';

/** Completes `given` with defaults; `host` stays empty for non-Microsoft or Custom-cloud servers without one. */
export function newServerSettings(given: Partial<ServerSettings> & Pick<ServerSettings, 'name'>): ServerSettings {
  const defaults = settingDefaults();
  const method = given.method ?? defaults.method;
  const cloud = given.cloud ?? defaults.cloud;
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<ServerSettings>;
  return {
    ...defaults,
    method,
    cloud,
    host: method === 'office365' && cloud !== 'custom' ? defaultSmtpHost(cloud) : '',
    ...defined,
    name: given.name,
  };
}

/** Labels of the settings Office 365 sign-in still needs; Mailbox only for Application sign-in (Authorize Account fills it in). */
export function missingOffice365Settings(server: EmailServer): string[] {
  const missing: string[] = [];
  const label = (key: SettingKey): string => SETTINGS[key].label;
  if (!server.tenantId) missing.push(label('tenantId'));
  if (!server.clientId) missing.push(label('clientId'));
  if (!server.hasClientSecret) missing.push(label('clientSecret'));
  if (server.cloud === 'custom' && !server.authorityHost) missing.push(label('authorityHost'));
  if (server.cloud === 'custom' && server.sendVia === 'smtp' && !server.smtpResource) missing.push(label('smtpResource'));
  if (server.cloud === 'custom' && server.sendVia === 'graph' && !server.graphEndpoint) missing.push(label('graphEndpoint'));
  if (!server.mailbox && server.signInMode === 'application') missing.push(label('mailbox'));
  return missing;
}
