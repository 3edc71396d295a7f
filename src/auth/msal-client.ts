/**
 * Builds the MSAL confidential client for one email server: authority from its
 * cloud and tenant, its credential (a client certificate, signed into a client
 * assertion, or else the client secret), the sealed SQLite cache plugin, and
 * MSAL's own log routed to ours without personal data.
 */
import { ConfidentialClientApplication, LogLevel as MsalLogLevel, type NodeAuthOptions } from '@azure/msal-node';
import { readClientCertificate } from '../client-certificate.js';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { resolveCloud } from './clouds.js';
import { createCachePlugin, type TokenCacheStore } from './token-cache.js';

export interface MsalClientOptions {
  server: EmailServer;
  /** The app's client secret; unused when a client certificate is given. */
  clientSecret?: string | null;
  /** The app's certificate and private key (PEM): when set, it signs in instead of the secret. */
  clientCertificate?: string | null;
  cache: TokenCacheStore;
  log: Logger;
}

/** The authority URL, `https://host/{tenant}/`. */
export function authorityFor(
  server: Pick<EmailServer, 'cloud' | 'authorityHost' | 'smtpResource' | 'graphEndpoint' | 'sendVia' | 'tenantId'>,
): string {
  if (!server.tenantId) throw new Error('Office 365 Tenant ID is not set');
  return `${resolveCloud(server).authorityHost}/${encodeURIComponent(server.tenantId)}/`;
}

/** Entra's v2.0 endpoint layout on `host`; MSAL fills in `{tenant}`. */
function customAuthorityMetadata(host: string): string {
  return JSON.stringify({
    token_endpoint: `${host}/{tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${host}/{tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${host}/{tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${host}/{tenant}/discovery/v2.0/keys`,
    issuer: `${host}/{tenantid}/v2.0`,
  });
}

/** The credential MSAL signs in with: the certificate when there is one (Microsoft recommends it), else the secret. */
function credential(clientSecret: string | null | undefined, clientCertificate: string | null | undefined): Partial<NodeAuthOptions> {
  if (!clientCertificate) return { clientSecret: clientSecret ?? '' };
  const reading = readClientCertificate(clientCertificate);
  if (!reading.ok) throw new Error(`Office 365 Client Certificate cannot be used: ${reading.problem}`);
  const { thumbprintSha256, privateKey, x5c } = reading.certificate;
  return { clientCertificate: { thumbprintSha256, privateKey, x5c } };
}

/** Creates the MSAL client; throws a plain Error when a required setting is missing. */
export function createMsalClient({
  server,
  clientSecret,
  clientCertificate,
  cache,
  log,
}: MsalClientOptions): ConfidentialClientApplication {
  if (!server.clientId) throw new Error('Office 365 Client ID is not set');
  const authority = authorityFor(server);
  const custom = server.cloud === 'custom';
  return new ConfidentialClientApplication({
    auth: {
      clientId: server.clientId,
      ...credential(clientSecret, clientCertificate),
      authority,
      // A host outside Microsoft's clouds must be declared, or MSAL asks
      // login.microsoftonline.com for instance discovery (MICROSOFT.md).
      knownAuthorities: custom ? [new URL(authority).host] : [],
      // MSAL has the endpoints of Microsoft's clouds built in; giving a custom host the same
      // shape lets errors such as AADSTS90002 (tenant not found) come from the token endpoint
      // with their code, instead of a failed discovery that hides it.
      ...(custom ? { authorityMetadata: customAuthorityMetadata(resolveCloud(server).authorityHost) } : {}),
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

/** The part of the store that holds a server's credentials and its sealed token cache. */
export type CredentialStore = StoreSlice<{ servers: 'clientSecret' | 'clientCertificate'; tokenCaches: 'load' | 'save' }>;

/** The MSAL client of `server` over its stored credentials and token cache. */
export async function storedMsalClient(server: EmailServer, store: CredentialStore, log: Logger): Promise<ConfidentialClientApplication> {
  return createMsalClient({
    server,
    clientSecret: await store.servers.clientSecret(server.id),
    clientCertificate: await store.servers.clientCertificate(server.id),
    cache: store.tokenCaches,
    log,
  });
}
