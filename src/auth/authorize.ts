/**
 * Authorize Account: the delegated authorization-code flow with PKCE (S256).
 * `authorizeUrl` builds Microsoft's sign-in URL (with a `createPkce` pair); `finishAuthorization`
 * redeems the code that came back to the redirect URI. The MSAL client is the
 * server's usual one (createMsalClient), so the signed-in account and its
 * refresh token land in the sealed SQLite token cache through the cache plugin,
 * where the token provider finds them for delivery.
 */
import { CryptoProvider, type ConfidentialClientApplication } from '@azure/msal-node';
import type { EmailServer } from '../store/servers.js';
import { delegatedScopes } from './clouds.js';
import { TokenError, toTokenError } from './token-error.js';

/** The part of MSAL's confidential client this flow uses (tests give a fake). */
export type AuthCodeClient = Pick<ConfidentialClientApplication, 'getAuthCodeUrl' | 'acquireTokenByCode'>;

type ScopeSettings = Pick<EmailServer, 'cloud' | 'authorityHost' | 'smtpResource' | 'graphEndpoint' | 'sendVia'>;

/** SMTP.Send of the server's cloud plus offline_access, so a refresh token comes back. */
export function authorizeScopes(server: ScopeSettings): string[] {
  return [...delegatedScopes(server), 'offline_access'];
}

/** A PKCE pair: the challenge goes to Microsoft now, the verifier stays server-side until the callback. */
export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A fresh PKCE pair (S256). */
export async function createPkce(): Promise<Pkce> {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  return { verifier, challenge };
}

export interface AuthorizeUrlOptions {
  client: AuthCodeClient;
  server: ScopeSettings;
  redirectUri: string;
  /** Opaque value bound to the admin's session; Microsoft sends it back unchanged. */
  state: string;
  /** The PKCE challenge of {@link createPkce}. */
  challenge: string;
  /** Pre-fills the account picker, optional. */
  loginHint?: string | null;
}

/** Builds Microsoft's authorize URL: PKCE S256, `prompt=select_account`, SMTP.Send + offline_access. */
export async function authorizeUrl({ client, server, redirectUri, state, challenge, loginHint }: AuthorizeUrlOptions): Promise<string> {
  try {
    return await client.getAuthCodeUrl({
      scopes: authorizeScopes(server),
      redirectUri,
      state,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      prompt: 'select_account',
      ...(loginHint ? { loginHint } : {}),
    });
  } catch (err) {
    throw toTokenError(err);
  }
}

export interface FinishOptions {
  client: AuthCodeClient;
  server: ScopeSettings;
  redirectUri: string;
  code: string;
  state: string;
  verifier: string;
}

export interface AuthorizedAccount {
  /** The signed-in account's user name (UPN), e.g. relay@contoso.com. */
  account: string;
  /** When the access token that came with the code expires, or null. */
  expiresAt: number | null;
}

/** Redeems the authorization code; throws TokenError (with its AADSTS hint) on failure. */
export async function finishAuthorization({
  client,
  server,
  redirectUri,
  code,
  state,
  verifier,
}: FinishOptions): Promise<AuthorizedAccount> {
  let account: string | undefined;
  let expiresAt: number | null = null;
  try {
    const result = await client.acquireTokenByCode(
      { code, scopes: authorizeScopes(server), redirectUri, codeVerifier: verifier, state },
      { code, state },
    );
    account = result?.account?.username;
    expiresAt = result?.expiresOn ? result.expiresOn.getTime() : null;
  } catch (err) {
    throw toTokenError(err);
  }
  if (!account) {
    throw new TokenError({
      message: 'Microsoft did not name the signed-in account',
      aadsts: null,
      oauthError: 'no_account',
      transient: false,
    });
  }
  return { account, expiresAt };
}

/**
 * The error Microsoft put on the redirect URI instead of a code
 * (`error`, `error_description` with its AADSTS number), as a TokenError.
 */
export function callbackError(error: string, description: string | null | undefined): TokenError {
  const firstLine = (description ?? '').split(/\r?\n/)[0]?.trim() ?? '';
  const aadsts = /AADSTS(\d+)/.exec(firstLine)?.[1] ?? null;
  const message = firstLine || (error === 'access_denied' ? 'The sign-in was cancelled or consent was declined' : error);
  return new TokenError({ message, aadsts, oauthError: error, transient: false });
}
