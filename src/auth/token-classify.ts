/**
 * What to do about a failed token request, as data: the AADSTS number decides
 * first (MICROSOFT.md: classify on it, not on `error`), then the HTTP status
 * when Microsoft sent one, then the OAuth `error`. The same answer from Entra
 * classifies the same in both sign-in modes, although MSAL only reports the
 * HTTP status for client credentials (Application), never for a refresh
 * (Authorize Account).
 */

/**
 * `retry`: try again later with backoff (throttling, outages, network);
 * `hold`: only an admin can fix it (settings, consent, policy, authorize again), mail waits;
 * `fail`: this request is used up for good (an authorization code redeemed or expired, sign-in declined),
 * the flow that made it starts over; nothing an admin changes makes the same request work.
 */
export type TokenAction = 'retry' | 'hold' | 'fail';

/** What is known about one failed token request. */
export interface TokenFailureFacts {
  /** `7000215` for AADSTS7000215, or null. */
  aadsts: string | null;
  /** The OAuth `error` (MSAL's `errorCode`), or an MSAL client error code, or null. */
  oauthError: string | null;
  /** HTTP status of Microsoft's answer; undefined when MSAL gives none (refresh tokens, its own errors). */
  status?: number;
  /** MSAL answered from its throttling cache: an earlier 429 or 5xx is replayed without asking Microsoft. */
  replayed?: boolean;
  /** False when the failure did not come from Microsoft at all (network, MSAL itself). */
  fromMicrosoft: boolean;
}

/** AADSTS number → action (MICROSOFT.md, Token errors). */
export const AADSTS_ACTIONS: Readonly<Record<string, TokenAction>> = {
  // Throttling and outages.
  '50196': 'retry', // LoopDetected: too many identical requests, Entra throttles the client
  '90033': 'retry', // a transient error has occurred
  // Settings an admin fixes in the app registration or in relay365.
  '7000215': 'hold', // wrong client secret (often the secret ID instead of its value)
  '7000222': 'hold', // client secret expired
  '7000218': 'hold', // no client secret sent
  '700016': 'hold', // app not found in the tenant
  '90002': 'hold', // tenant not found
  '700024': 'hold', // client assertion not valid
  '1002012': 'hold', // scope without /.default for client credentials
  '700022': 'hold', // scopes of two resources
  '500011': 'hold', // resource (Exchange) not in the tenant
  '650053': 'hold', // permission that does not exist on the resource
  '50011': 'hold', // redirect URI not registered
  // Authorization lost or refused by policy: Authorize Account again, or grant consent.
  '65001': 'hold', // consent missing
  '700082': 'hold', // refresh token expired after inactivity
  '70008': 'hold', // code or refresh token expired (for a refresh: authorize again)
  '50173': 'hold', // grant revoked
  '50076': 'hold', // MFA required
  '53003': 'hold', // blocked by Conditional Access
  '70043': 'hold', // sign-in frequency policy
  '7000012': 'hold', // grant from another tenant
  '50034': 'hold', // the account does not exist in the tenant
  // Requests that are spent: start Authorize Account again.
  '54005': 'fail', // authorization code already redeemed
  '70000': 'fail', // code invalid or malformed
  '700005': 'fail', // code for another tenant
  '500112': 'fail', // redirect URI differs from the authorize request's
  '501481': 'fail', // PKCE verifier does not match
  '65004': 'fail', // the user declined consent
  '50089': 'fail', // sign-in flow token expired
  '50058': 'fail', // silent sign-in without a session
};

/** OAuth `error` values and MSAL client error codes → action, used when the AADSTS number is unknown. */
export const OAUTH_ERROR_ACTIONS: Readonly<Record<string, TokenAction>> = {
  temporarily_unavailable: 'retry',
  server_error: 'retry',
  network_error: 'retry',
  no_network_connectivity: 'retry',
  // Discovery failed: with MSAL's built-in metadata for Microsoft's clouds this is the network.
  endpoints_resolution_error: 'retry',
  invalid_client: 'hold',
  unauthorized_client: 'hold',
  invalid_grant: 'hold', // on a refresh, every invalid_grant means "authorize again" (MICROSOFT.md)
  interaction_required: 'hold',
  consent_required: 'hold',
  login_required: 'hold',
  invalid_request: 'hold',
  invalid_scope: 'hold',
  invalid_resource: 'hold',
  invalid_tenant: 'hold',
  unsupported_grant_type: 'hold',
  untrusted_authority: 'hold',
  authority_uri_insecure: 'hold',
  no_tokens_found: 'hold',
  // relay365's own codes for settings that are missing.
  no_account: 'hold',
  not_configured: 'hold',
  access_denied: 'fail', // the user cancelled sign-in or declined consent
};

/** Decides what a failed token request means. */
export function classifyTokenFailure(facts: TokenFailureFacts): TokenAction {
  // MSAL refuses to ask again until Retry-After has passed (60 s by default): wait, as for the original 429/5xx.
  if (facts.replayed) return 'retry';
  const byNumber = facts.aadsts !== null ? AADSTS_ACTIONS[facts.aadsts] : undefined;
  if (byNumber) return byNumber;
  if (facts.status !== undefined && (facts.status === 429 || facts.status >= 500)) return 'retry';
  const byError = facts.oauthError !== null ? OAUTH_ERROR_ACTIONS[facts.oauthError] : undefined;
  if (byError) return byError;
  // Microsoft refused for a reason not in the tables: an admin has to look. Anything else may pass.
  return facts.fromMicrosoft ? 'hold' : 'retry';
}
