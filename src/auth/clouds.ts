/**
 * Microsoft cloud endpoints: where to sign in, which SMTP host to use, where
 * Microsoft Graph answers and which resource a token is for (MICROSOFT.md,
 * National clouds). `custom` takes the authority host, the SMTP resource and
 * the Graph endpoint from the server's settings, which is how a sovereign
 * deployment or the test emulator is reached. A server that sends via Graph
 * asks for Graph tokens; one that sends via SMTP for Exchange's.
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
  /** Microsoft Graph, e.g. https://graph.microsoft.com (no trailing slash); null for a Custom cloud without one. */
  graphEndpoint: string | null;
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
    graphEndpoint: 'https://graph.microsoft.com',
  },
  usgov: {
    authorityHost: 'https://login.microsoftonline.us',
    smtpHost: 'smtp.office365.us',
    delegatedResource: 'https://outlook.office365.us',
    appResource: 'https://outlook.office365.us',
    graphEndpoint: 'https://graph.microsoft.us',
  },
  usdod: {
    authorityHost: 'https://login.microsoftonline.us',
    smtpHost: 'outlook-dod.office365.us',
    delegatedResource: 'https://outlook.office365.us',
    appResource: 'https://outlook.office365.us',
    graphEndpoint: 'https://dod-graph.microsoft.us',
  },
  china: {
    authorityHost: 'https://login.partner.microsoftonline.cn',
    smtpHost: 'smtp.partner.outlook.cn',
    delegatedResource: 'https://partner.outlook.cn',
    appResource: 'https://partner.outlook.cn',
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
  },
};

type CloudSettings = Pick<EmailServer, 'cloud' | 'authorityHost' | 'smtpResource' | 'graphEndpoint' | 'sendVia'>;

const withoutSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * Endpoints for a server's cloud. `custom` needs an Authority Host, and an SMTP Resource to send
 * via SMTP or a Graph Endpoint to send via Graph.
 */
export function resolveCloud(server: CloudSettings): CloudEndpoints {
  if (server.cloud !== 'custom') return BUILT_IN[server.cloud];
  const graphEndpoint = server.graphEndpoint ? withoutSlash(server.graphEndpoint) : null;
  const needed = server.sendVia === 'graph' ? graphEndpoint : server.smtpResource;
  if (!server.authorityHost || !needed) {
    throw new Error(
      `the Custom cloud needs both an Authority Host and ${server.sendVia === 'graph' ? 'a Graph Endpoint' : 'an SMTP Resource'}`,
    );
  }
  const resource = server.smtpResource ? withoutSlash(server.smtpResource) : (graphEndpoint as string);
  return {
    authorityHost: withoutSlash(server.authorityHost),
    smtpHost: new URL(resource).hostname,
    delegatedResource: resource,
    appResource: resource,
    graphEndpoint,
  };
}

/** Where a server sending via Graph reaches it; throws like resolveCloud when a Custom cloud has none. */
export function graphEndpoint(server: CloudSettings): string {
  const endpoint = resolveCloud({ ...server, sendVia: 'graph' }).graphEndpoint;
  if (!endpoint) throw new Error('the Custom cloud needs a Graph Endpoint to send via Graph');
  return endpoint;
}

/** Default SMTP host for a cloud, for new servers. */
export function defaultSmtpHost(cloud: Exclude<CloudName, 'custom'>): string {
  return BUILT_IN[cloud].smtpHost;
}

/**
 * Scope for delegated sign-in: Exchange's SMTP.Send, or Graph's Mail.Send for a server that sends
 * via Graph (one resource per request: AADSTS700022). MSAL adds openid, profile and offline_access.
 */
export function delegatedScopes(server: CloudSettings): string[] {
  if (server.sendVia === 'graph') return [`${graphEndpoint(server)}/Mail.Send`];
  return [`${resolveCloud(server).delegatedResource}/SMTP.Send`];
}

/** Scope for client credentials: the `.default` of Exchange's resource, or of Graph for a server that sends via Graph. */
export function applicationScopes(server: CloudSettings): string[] {
  if (server.sendVia === 'graph') return [`${graphEndpoint(server)}/.default`];
  return [`${resolveCloud(server).appResource}/.default`];
}
