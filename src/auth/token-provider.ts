/**
 * Access tokens for one Office 365 email server, from MSAL. MSAL's cache is
 * the only token cache: it hands out a cached token until five minutes before
 * it expires (its default renewal offset, PRODUCT.md: refresh 5–10 minutes
 * early); for an endpoint that refuses tokens earlier (High Volume Email) a
 * cached token that close to its end is replaced at once. Concurrent callers
 * share one MSAL call, and a forced refresh is available for the retry after an SMTP 535.
 *
 * Application mode uses client credentials with `{resource}/.default`;
 * Authorize Account mode uses the signed-in account's refresh token through
 * `acquireTokenSilent` (MSAL persists the rotated refresh token via the cache plugin).
 */
import type { AccountInfo, AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import type { Metrics } from '../metrics.js';
import type { EmailServer } from '../store/servers.js';
import { applicationScopes, delegatedScopes } from './clouds.js';
import { earlyRefreshMs } from './server-presets.js';
import { isMicrosoftAnswer, TokenError, toTokenError } from './token-error.js';

export interface AccessToken {
  token: string;
  expiresAt: number;
  /** The signed-in account (delegated) or null for application tokens. */
  account: string | null;
}

export interface TokenProvider {
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<AccessToken>;
  /** How many requests reached Microsoft's token endpoint (MSAL cache hits and replayed throttling errors do not). */
  readonly requests: number;
  /** When a token last came from Microsoft (not from MSAL's cache), or null. */
  readonly refreshedAt: number | null;
}

export interface TokenProviderOptions {
  server: EmailServer;
  client: ConfidentialClientApplication;
  now?: () => number;
  /** Counts the requests that reach the token endpoint, by result and error code. */
  metrics?: Pick<Metrics, 'tokenRequest'>;
}

/** Picks the cached account that Authorize Account stored for this server. */
async function findAccount(client: ConfidentialClientApplication, wanted: string | null): Promise<AccountInfo> {
  const accounts = await client.getTokenCache().getAllAccounts();
  const match = accounts.find((a) => wanted !== null && a.username.toLowerCase() === wanted.toLowerCase()) ?? accounts[0];
  if (!match) {
    throw new TokenError({
      message: 'No account is authorized for this server yet',
      aadsts: null,
      oauthError: 'no_account',
      transient: false,
    });
  }
  return match;
}

/** Network failures on the way to the token endpoint count as requests too. */
function reachedTokenEndpoint(err: unknown): boolean {
  return isMicrosoftAnswer(err) || (err as { errorCode?: string }).errorCode === 'network_error';
}

/** Creates a token provider for one server; the MSAL client carries credentials and cache. */
export function createTokenProvider({ server, client, now = Date.now, metrics }: TokenProviderOptions): TokenProvider {
  let inflight: Promise<AccessToken> | null = null;
  let inflightForced = false;
  let requests = 0;
  let refreshedAt: number | null = null;
  const early = earlyRefreshMs(server);

  const request = async (forceRefresh: boolean): Promise<AuthenticationResult | null> => {
    if (server.signInMode === 'application') {
      return client.acquireTokenByClientCredential({ scopes: applicationScopes(server), skipCache: forceRefresh });
    }
    const account = await findAccount(client, server.authorizedAccount);
    return client.acquireTokenSilent({ account, scopes: delegatedScopes(server), forceRefresh });
  };

  const acquire = async (forceRefresh: boolean): Promise<AccessToken> => {
    let result: AuthenticationResult | null;
    try {
      result = await request(forceRefresh);
      const expiresOn = result?.fromCache ? result.expiresOn : null;
      if (early !== null && expiresOn && expiresOn.getTime() - now() < early) result = await request(true);
    } catch (err) {
      const error = toTokenError(err);
      if (reachedTokenEndpoint(err)) {
        requests++;
        metrics?.tokenRequest(server.name, 'error', error.code);
      }
      throw error;
    }
    if (result && !result.fromCache) {
      requests++;
      metrics?.tokenRequest(server.name, 'ok');
      refreshedAt = now();
    }
    if (!result?.accessToken) {
      throw new TokenError({ message: 'Microsoft returned no access token', aadsts: null, oauthError: null, transient: true });
    }
    return {
      token: result.accessToken,
      expiresAt: result.expiresOn ? result.expiresOn.getTime() : now() + 60 * 60_000,
      account: result.account?.username ?? null,
    };
  };

  return {
    get requests() {
      return requests;
    },
    get refreshedAt() {
      return refreshedAt;
    },
    getAccessToken({ forceRefresh = false } = {}) {
      // One call at a time: callers join the call in flight, except that a forced refresh does not
      // settle for a cached token (the one Microsoft just refused); it runs after that call.
      if (inflight && (inflightForced || !forceRefresh)) return inflight;
      const before = inflight;
      const call = (async () => {
        if (before) await before.catch(() => undefined);
        return acquire(forceRefresh);
      })();
      inflight = call;
      inflightForced = forceRefresh;
      const settle = (): void => {
        if (inflight === call) inflight = null;
      };
      call.then(settle, settle);
      return call;
    },
  };
}
