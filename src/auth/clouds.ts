/**
 * Microsoft cloud endpoints: where to sign in, which SMTP host to use and which
 * resource the token is for (MICROSOFT.md, National clouds). `custom` takes
 * the authority host and SMTP resource from the server's settings, which is how
 * a sovereign deployment or the test emulator is reached.
 */
import type { CloudName, EmailServer } from '../store/servers.js';

export interface CloudEndpoints {
  /** e.g. https://login.microsoftonline.com (no trailing slash) */
  authorityHost: string;
  /** Default SMTP host for this cloud. */
  smtpHost: string;
  /** Resource for delegated (Authorize Account) tokens. */
  delegatedResource: string;
  /** Resource for application (client credentials) tokens. */
  appResource: string;
}

export const CLOUD_LABELS: Record<CloudName, string> = {
  global: 'Global',
  usgov: 'US Government GCC High',
  usdod: 'US Government DoD',
  china: 'China (21Vianet)',
  custom: 'Custom',
};

const BUILT_IN: Record<Exclude<CloudName, 'custom'>, CloudEndpoints> = {
  global: {
    authorityHost: 'https://login.microsoftonline.com',
    smtpHost: 'smtp.office365.com',
    delegatedResource: 'https://outlook.office.com',
    appResource: 'https://outlook.office365.com',
  },
  usgov: {
    authorityHost: 'https://login.microsoftonline.us',
    smtpHost: 'smtp.office365.us',
    delegatedResource: 'https://outlook.office365.us',
    appResource: 'https://outlook.office365.us',
  },
  usdod: {
    authorityHost: 'https://login.microsoftonline.us',
    smtpHost: 'outlook-dod.office365.us',
    delegatedResource: 'https://outlook.office365.us',
    appResource: 'https://outlook.office365.us',
  },
  china: {
    authorityHost: 'https://login.partner.microsoftonline.cn',
    smtpHost: 'smtp.partner.outlook.cn',
    delegatedResource: 'https://partner.outlook.cn',
    appResource: 'https://partner.outlook.cn',
  },
};

type CloudSettings = Pick<EmailServer, 'cloud' | 'authorityHost' | 'smtpResource'>;

/** Endpoints for a server's cloud; `custom` needs both Authority Host and SMTP Resource. */
export function resolveCloud(server: CloudSettings): CloudEndpoints {
  if (server.cloud !== 'custom') return BUILT_IN[server.cloud];
  if (!server.authorityHost || !server.smtpResource) {
    throw new Error('the Custom cloud needs both an Authority Host and an SMTP Resource');
  }
  const resource = server.smtpResource.replace(/\/+$/, '');
  return {
    authorityHost: server.authorityHost.replace(/\/+$/, ''),
    smtpHost: new URL(resource).hostname,
    delegatedResource: resource,
    appResource: resource,
  };
}

/** Default SMTP host for a cloud, for new servers. */
export function defaultSmtpHost(cloud: Exclude<CloudName, 'custom'>): string {
  return BUILT_IN[cloud].smtpHost;
}

/** Scope for delegated sign-in; MSAL adds openid, profile and offline_access itself. */
export function delegatedScopes(server: CloudSettings): string[] {
  return [`${resolveCloud(server).delegatedResource}/SMTP.Send`];
}

/** Scope for client credentials: the resource's `.default`. */
export function applicationScopes(server: CloudSettings): string[] {
  return [`${resolveCloud(server).appResource}/.default`];
}
