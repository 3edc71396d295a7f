/**
 * The public shape of the identity emulator: its options, test hooks, fault
 * descriptions and the records it keeps of what clients asked for.
 */
import type { AuthorizationCodeStore } from './authorization-codes.js';
import type { AuthorizeRequestRecord } from './authorize-flow.js';
import type { CompleteAuthorizeOptions } from './complete-authorize.js';
import type { ConsentGrant, RevokeConsentInput } from './consent.js';
import type { Directory } from './directory.js';
import type { ErrorParams } from './entra-errors.js';
import type { GrantStore } from './grants.js';
import type { JwtClaims, SigningKey } from './jwt.js';
import type { IdentitySettings } from './token-issue.js';
import type { TokenVerification } from './tokens.js';

/** Options of {@link startIdentity}. */
export interface IdentityOptions {
  directory: Directory;
  /** Port on 127.0.0.1 (and [::1]); default 0 = any free port. */
  port?: number;
  /** Clock in epoch milliseconds, for fake-time tests; default `Date.now()` (faked Date is honoured). */
  now?: () => number;
  /** Initial {@link IdentitySettings} values. */
  settings?: Partial<IdentitySettings>;
  /** Key to sign with; default a new one (RSA generation takes 0.1–0.5 s, so test files may share one). */
  signingKey?: SigningKey;
}

/**
 * The endpoints a fault can target. An AADSTS fault on `authorize` sends a valid
 * request back to the app with that error instead of showing the pages.
 */
export type IdentityEndpoint = 'token' | 'openid-configuration' | 'keys' | 'authorize';

/**
 * A one-shot fault for the next matching request: an AADSTS error (worded from
 * the catalogue), a raw HTTP status with an optional body, or a dropped socket.
 */
export type IdentityFault = {
  /** Default 'token'. */
  endpoint?: IdentityEndpoint;
  /** Only token requests with this grant_type. */
  grantType?: string;
  /** How many matching requests it hits; default 1. */
  count?: number;
} & ({ aadsts: number; params?: ErrorParams } | { status: number; body?: unknown } | { drop: true });

/** One request to the token endpoint. */
export interface TokenRequestRecord {
  grant_type: string;
  clientId: string;
  /** The tenant path segment as sent. */
  tenant: string;
  scope: string;
  /** How the client authenticated: a secret (body or Basic header), a client assertion, or not at all. */
  clientAuth: 'secret' | 'assertion' | 'none';
  ok: boolean;
  status: number;
  /** The AADSTS number of a failure. */
  aadsts?: number;
  at: number;
}

/** One HTTP request to the emulator. */
export interface HttpRequestRecord {
  method: string;
  path: string;
  status: number;
}

/** A running identity emulator. */
export interface IdentityEmulator {
  /** `https://localhost:PORT`. */
  readonly authorityHost: string;
  /** `localhost:PORT`, for MSAL's `knownAuthorities`. */
  readonly knownAuthority: string;
  readonly port: number;
  /** The RS256 key pair tokens are signed with. */
  readonly signingKey: SigningKey;
  /** Lifetimes; change them at any time. */
  readonly settings: IdentitySettings;
  readonly grants: GrantStore;
  /** Authorization codes issued by the authorize pages. */
  readonly authorizationCodes: AuthorizationCodeStore;
  readonly tokenRequests: TokenRequestRecord[];
  /** Authorize requests, updated as the user goes through the pages. */
  readonly authorizeRequests: AuthorizeRequestRecord[];
  readonly requests: HttpRequestRecord[];
  /**
   * URLs accepted as Microsoft Graph's resource besides https://graph.microsoft.com: the
   * Graph emulator adds its own URL, the Graph endpoint of the Custom cloud.
   */
  readonly graphResources: string[];
  /** The delegated consent grants now in the directory (computed on each read). */
  readonly consents: ConsentGrant[];
  /** The emulator's clock (epoch ms). */
  now(): number;
  /** `https://localhost:PORT/<tenant>/`, an MSAL authority. */
  authority(tenant: string): string;
  /** Checks signature, issuer, `nbf` and `exp` of an access token (not its audience). */
  verifyAccessToken(token: string): TokenVerification;
  /** Signs arbitrary claims with the emulator's key (for crafting bad tokens). */
  signToken(claims: JwtClaims): string;
  /** An app-only access token as client credentials would issue it (no secret check); default resource Exchange. */
  issueAppToken(input: { tenant: string; clientId: string; resource?: string }): string;
  /**
   * A delegated access token for `user` (no consent check): default resource Exchange with
   * `scp` SMTP.Send; a Graph resource gets `scp` Mail.Send unless `scopes` says otherwise.
   */
  issueDelegatedToken(input: { tenant: string; clientId: string; user: string; resource?: string; scopes?: string[] }): string;
  /** A refresh token as if `user` had signed in to `clientId`, without going through the pages. */
  createRefreshToken(input: { tenant: string; clientId: string; user: string; scopes?: string[] }): string;
  /** Revokes the refresh tokens of one user, or of everyone; returns how many (AADSTS50173 next). */
  revokeRefreshTokens(userAddress?: string): number;
  /** Removes delegated consent (see {@link RevokeConsentInput}); returns how many grants (AADSTS65001 next). */
  revokeConsent(input?: RevokeConsentInput): number;
  /** An authorize URL on this emulator, as MSAL's getAuthCodeUrl builds it (for tests without MSAL). */
  authorizeUrl(input: AuthorizeUrlInput): string;
  /**
   * Goes through "Pick an account" and "Permissions requested" with plain HTTP and
   * returns the URL the browser is sent back to; throws `AuthorizePageError`
   * on an error page.
   */
  completeAuthorize(url: string, options?: CompleteAuthorizeOptions): Promise<string>;
  /** Queues a one-shot fault. */
  failNext(fault: IdentityFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/** Input of {@link IdentityEmulator.authorizeUrl}; the query MSAL would send. */
export interface AuthorizeUrlInput {
  /** Tenant path segment (id, domain, `organizations`). */
  tenant: string;
  clientId: string;
  redirectUri: string;
  /** Default `https://outlook.office.com/SMTP.Send offline_access openid profile`. */
  scopes?: string[];
  state?: string;
  codeChallenge?: string;
  /** Default `S256` when a challenge is given. */
  codeChallengeMethod?: 'S256' | 'plain';
  prompt?: string;
  loginHint?: string;
  nonce?: string;
  responseMode?: 'query' | 'fragment' | 'form_post';
}
