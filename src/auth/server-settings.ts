/**
 * Email server settings as Office 365 sign-in sees them, shared by the panel,
 * the CLI, the API and the relay: the defaults a new server starts with
 * (STARTTLS on 587 to the cloud's SMTP host, Microsoft's per-mailbox limits, or
 * a preset's endpoint and limits), and which settings sign-in still lacks.
 */
import { SETTINGS, settingDefaults, type SettingKey } from '../store/server-schema.js';
import type { EmailServer, ServerSettings } from '../store/servers.js';
import { defaultSmtpHost } from './clouds.js';
import { PRESETS, type PresetName } from './server-presets.js';

/**
 * Completes `given` with a preset's values (when named) and the defaults; what `given` sets wins.
 * `host` stays empty for non-Microsoft or Custom-cloud servers without one.
 */
export function newServerSettings(given: Partial<ServerSettings> & Pick<ServerSettings, 'name'>, preset?: PresetName): ServerSettings {
  const defaults = settingDefaults();
  const defined = {
    ...(preset ? PRESETS[preset].settings : {}),
    ...(Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<ServerSettings>),
  };
  const method = defined.method ?? defaults.method;
  const cloud = defined.cloud ?? defaults.cloud;
  return {
    ...defaults,
    method,
    cloud,
    host: method === 'office365' && cloud !== 'custom' ? defaultSmtpHost(cloud) : '',
    ...defined,
    name: given.name,
  };
}

/**
 * Labels of the settings Office 365 sign-in still needs: a client secret or a client certificate (the
 * certificate wins when both are set); Mailbox only for Application sign-in (Authorize Account fills it in).
 */
export function missingOffice365Settings(server: EmailServer): string[] {
  const missing: string[] = [];
  const label = (key: SettingKey): string => SETTINGS[key].label;
  if (!server.tenantId) missing.push(label('tenantId'));
  if (!server.clientId) missing.push(label('clientId'));
  if (!server.hasClientSecret && !server.hasClientCertificate) missing.push(`${label('clientSecret')} or ${label('clientCertificate')}`);
  if (server.cloud === 'custom' && !server.authorityHost) missing.push(label('authorityHost'));
  if (server.cloud === 'custom' && server.sendVia === 'smtp' && !server.smtpResource) missing.push(label('smtpResource'));
  if (server.cloud === 'custom' && server.sendVia === 'graph' && !server.graphEndpoint) missing.push(label('graphEndpoint'));
  if (!server.mailbox && server.signInMode === 'application') missing.push(label('mailbox'));
  return missing;
}
