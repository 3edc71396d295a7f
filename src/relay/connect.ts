/**
 * Builds what delivery needs for one email server from its stored settings:
 * the token provider (Office 365) or password, and the upstream: the pooled
 * SMTP one, or Microsoft Graph when the server's Send Via is graph. A
 * missing setting becomes a hold with a hint, not a crash.
 */
import { storedMsalClient, type CredentialStore } from '../auth/msal-client.js';
import { missingOffice365Settings } from '../auth/server-settings.js';
import { TokenError } from '../auth/token-error.js';
import { createTokenProvider, type TokenProvider } from '../auth/token-provider.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { createUpstream } from './delivery.js';
import { createGraphUpstream } from './graph/graph-upstream.js';
import type { Upstream } from './upstream.js';

/** What delivery needs for one server: its upstream (the transport) and, for Office 365, its token provider. */
export interface Connection {
  upstream: Upstream;
  tokens: TokenProvider | null;
}

/** Creates the connection for a server; rejects with TokenError (permanent) when settings are incomplete. */
export async function connectServer(
  server: EmailServer,
  store: StoreSlice<{ servers: 'password' }> & CredentialStore,
  log: Logger,
  now: () => number = Date.now,
  metrics?: Metrics,
): Promise<Connection> {
  if (server.method !== 'office365') {
    const password = server.method === 'password' ? await store.servers.password(server.id) : null;
    return { upstream: createUpstream({ server, password, log }), tokens: null };
  }
  const missing = missingOffice365Settings(server);
  if (missing.length > 0) {
    throw new TokenError({
      message: `Not configured: set ${missing.join(', ')}`,
      aadsts: null,
      oauthError: 'not_configured',
      transient: false,
    });
  }
  const tokens = createTokenProvider({ server, client: await storedMsalClient(server, store, log), now, metrics });
  const upstream = server.sendVia === 'graph' ? createGraphUpstream({ server, tokens, log, now }) : createUpstream({ server, tokens, log });
  return { upstream, tokens };
}
