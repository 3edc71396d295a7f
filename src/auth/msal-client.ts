/**
 * Builds the MSAL confidential client for one email server: authority from its
 * cloud and tenant, the sealed SQLite cache plugin, and MSAL's own log routed
 * to ours without personal data.
 */
import { ConfidentialClientApplication, LogLevel as MsalLogLevel } from '@azure/msal-node';
import type { Logger } from '../log.js';
import type { EmailServer } from '../store/servers.js';
import type { TokenCacheRepo } from '../store/token-caches.js';
import { resolveCloud } from './clouds.js';
import { createCachePlugin } from './token-cache.js';

export interface MsalClientOptions {
  server: EmailServer;
  clientSecret: string;
  cache: TokenCacheRepo;
  log: Logger;
}

/** The authority URL, `https://host/{tenant}/`. */
export function authorityFor(server: Pick<EmailServer, 'cloud' | 'authorityHost' | 'smtpResource' | 'tenantId'>): string {
  if (!server.tenantId) throw new Error('Office 365 Tenant ID is not set');
  return `${resolveCloud(server).authorityHost}/${encodeURIComponent(server.tenantId)}/`;
}

/** Creates the MSAL client; throws a plain Error when a required setting is missing. */
export function createMsalClient({ server, clientSecret, cache, log }: MsalClientOptions): ConfidentialClientApplication {
  if (!server.clientId) throw new Error('Office 365 Client ID is not set');
  const authority = authorityFor(server);
  return new ConfidentialClientApplication({
    auth: {
      clientId: server.clientId,
      clientSecret,
      authority,
      // A host outside Microsoft's clouds must be declared, or MSAL asks
      // login.microsoftonline.com for instance discovery (MICROSOFT.md).
      knownAuthorities: server.cloud === 'custom' ? [new URL(authority).host] : [],
    },
    cache: { cachePlugin: createCachePlugin(cache, server.id) },
    system: {
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: MsalLogLevel.Warning,
        loggerCallback: (_level, message, containsPii) => {
          if (!containsPii) log.debug('msal', { server: server.name, detail: message });
        },
      },
    },
  });
}
