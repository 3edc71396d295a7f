/**
 * The Microsoft endpoints an admin may be pointed to, as presets for a new
 * email server: Exchange Online's SMTP AUTH submission, High Volume Email and
 * Azure Communication Services SMTP (MICROSOFT.md, Other Microsoft ways to
 * send). A preset fills method, host, port, security and limits; what the
 * admin gives besides wins. Also how early a token is refreshed per endpoint.
 */
import type { EmailServer, ServerSettings } from '../store/servers.js';

export const PRESET_NAMES = ['office365', 'hve', 'acs'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** High Volume Email's SMTP endpoint. */
export const HVE_HOST = 'smtp-hve.office365.com';

export interface ServerPreset {
  label: string;
  /** When an admin picks it, for the panel's choice. */
  summary: string;
  settings: Partial<ServerSettings>;
}

export const PRESETS: Readonly<Record<PresetName, ServerPreset>> = {
  office365: {
    label: 'Microsoft 365 (SMTP AUTH)',
    summary: "A mailbox sends through Exchange Online's smtp.office365.com (or the cloud's own host) with an OAuth token.",
    // The host follows the cloud (newServerSettings); Microsoft's limits per mailbox.
    settings: { method: 'office365', port: 587, secure: 'tls', maxConnections: 3, messagesPerMinute: 30, recipientsPerDay: 10_000 },
  },
  hve: {
    label: 'High Volume Email',
    summary: `Bulk mail to your own organization from an HVE account, through ${HVE_HOST} with the app's Mail.Send permission.`,
    // HVE is for internal recipients at volume; its limits are set per tenant and account, these are a start.
    settings: {
      method: 'office365',
      signInMode: 'application',
      sendVia: 'smtp',
      host: HVE_HOST,
      port: 587,
      secure: 'tls',
      maxConnections: 3,
      messagesPerMinute: 100,
      recipientsPerDay: 100_000,
    },
  },
  acs: {
    label: 'Azure Communication Services',
    summary: "Mail to anyone through smtp.azurecomm.net, logging in with the SMTP Username resource and the Entra app's secret.",
    // ACS's default quota is about 30 a minute and 100 an hour: one a minute stays below both.
    settings: {
      method: 'password',
      host: 'smtp.azurecomm.net',
      port: 587,
      secure: 'tls',
      maxConnections: 1,
      messagesPerMinute: 1,
      recipientsPerDay: 2_400,
    },
  },
};

/**
 * Why settings cannot go with their preset, or null: High Volume Email takes mail only over SMTP, so
 * a server made from its preset cannot send via Microsoft Graph.
 */
export function presetConflict(preset: PresetName, settings: Pick<ServerSettings, 'sendVia'>): string | null {
  if (preset === 'hve' && settings.sendVia === 'graph') {
    return 'High Volume Email takes mail only over SMTP: keep Send Via smtp, or choose no preset to send via Microsoft Graph.';
  }
  return null;
}

/** Whether `name` is a preset's name. */
export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** High Volume Email refuses a token about ten minutes before it expires (`501 5.5.127`): renew well before. */
const HVE_RENEWAL_MS = 15 * 60_000;

/**
 * How long before its expiry a server's token must be replaced, when that is earlier than MSAL's own
 * renewal five minutes before; null when MSAL's is early enough.
 */
export function earlyRefreshMs(server: Pick<EmailServer, 'host' | 'sendVia'>): number | null {
  return server.sendVia === 'smtp' && server.host.toLowerCase() === HVE_HOST ? HVE_RENEWAL_MS : null;
}
