/**
 * Access tokens for one Office 365 email server. Tokens are reused until
 * shortly before they expire, only one request is in flight at a time, and a
 * forced refresh is available for the retry after an SMTP 535.
 *
 * Application mode uses client credentials with `{resource}/.default`;
 * Authorize Account mode uses the signed-in account's refresh token through
 * `acquireTokenSilent` (MSAL persists the rotated refresh token via the cache plugin).
 */
import type { AccountInfo, AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import type { EmailServer } from '../store/servers.js';
import { applicationScopes, delegatedScopes } from './clouds.js';
import { TokenError, toTokenError } from './token-error.js';

/** Refresh this long before expiry (PRODUCT.md: 5–10 minutes early). */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface AccessToken {
  token: string;
  expiresAt: number;
  /** The signed-in account (delegated) or null for application tokens. */
  account: string | null;
}

export interface TokenProvider {
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<AccessToken>;
  /** How many times Microsoft's token endpoint was asked (a figure for benchmarks). */
  readonly requests: number;
  /** When a token was last obtained from Microsoft (not from memory), or null. */
  readonly refreshedAt: number | null;
}

export interface TokenProviderOptions {
  server: EmailServer;
  client: ConfidentialClientApplication;
  now?: () => number;
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

/** Creates a token provider for one server; the MSAL client carries credentials and cache. */
export function createTokenProvider({ server, client, now = Date.now }: TokenProviderOptions): TokenProvider {
  let current: AccessToken | null = null;
  let inflight: Promise<AccessToken> | null = null;
  let requests = 0;
  let refreshedAt: number | null = null;

  const fetchToken = async (forceRefresh: boolean): Promise<AccessToken> => {
    requests++;
    let result: AuthenticationResult | null;
    try {
      if (server.signInMode === 'application') {
        result = await client.acquireTokenByClientCredential({ scopes: applicationScopes(server), skipCache: forceRefresh });
      } else {
        const account = await findAccount(client, server.authorizedAccount);
        result = await client.acquireTokenSilent({ account, scopes: delegatedScopes(server), forceRefresh });
      }
    } catch (err) {
      throw toTokenError(err);
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
      if (!forceRefresh && current && current.expiresAt - REFRESH_MARGIN_MS > now()) return Promise.resolve(current);
      // One refresh at a time: concurrent callers share the request in flight.
      inflight ??= fetchToken(forceRefresh)
        .then((token) => {
          current = token;
          refreshedAt = now();
          return token;
        })
        .finally(() => {
          inflight = null;
        });
      return inflight;
    },
  };
}
