/**
 * A failure to get a token, normalised from MSAL's errors: the AADSTS number
 * (MICROSOFT.md says to classify on it), the OAuth error, whether a retry can
 * help, and the admin hint. Messages never include secrets or tokens.
 */
import { AuthError } from '@azure/msal-node';
import { hintForTokenError, type Hint } from './hints.js';

/** OAuth errors that only an admin can fix; retrying changes nothing. */
const PERMANENT_OAUTH_ERRORS = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'interaction_required',
  'consent_required',
  'invalid_request',
  'invalid_scope',
  'access_denied',
  'no_account',
  'no_tokens_found',
]);

export class TokenError extends Error {
  /** `AADSTS7000215`, or the OAuth/MSAL error code when Microsoft gave no number. */
  readonly code: string;
  readonly aadsts: string | null;
  readonly oauthError: string | null;
  /** True when retrying later may succeed (network, 5xx, throttling). */
  readonly transient: boolean;
  readonly hint: Hint | null;

  constructor(opts: { message: string; aadsts: string | null; oauthError: string | null; transient: boolean }) {
    super(opts.message);
    this.name = 'TokenError';
    this.aadsts = opts.aadsts;
    this.oauthError = opts.oauthError;
    this.code = opts.aadsts ? `AADSTS${opts.aadsts}` : (opts.oauthError ?? 'token_error');
    this.transient = opts.transient;
    this.hint = hintForTokenError(opts.aadsts, opts.oauthError);
  }
}

/** Reads the AADSTS number from MSAL's error fields or its message. */
function aadstsOf(err: AuthError): string | null {
  const errorNo = (err as AuthError & { errorNo?: string | number }).errorNo;
  if (errorNo !== undefined && errorNo !== null && `${errorNo}` !== '') return `${errorNo}`;
  return /AADSTS(\d+)/.exec(err.errorMessage ?? err.message)?.[1] ?? null;
}

/** Normalises anything MSAL throws into a TokenError. */
export function toTokenError(err: unknown): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof AuthError) {
    const aadsts = aadstsOf(err);
    const oauthError = err.errorCode || null;
    const status = (err as AuthError & { status?: number }).status;
    const permanent = aadsts !== null ? status === undefined || status < 500 : PERMANENT_OAUTH_ERRORS.has(oauthError ?? '');
    // MSAL wraps Microsoft's text ("Error(s): 54005 - Timestamp: … - Description: AADSTS54005: …");
    // the description's first line names the problem, the rest is trace ids.
    const text = err.errorMessage || err.message;
    const description = text.includes('AADSTS') ? text.slice(text.indexOf('AADSTS')) : text;
    const firstLine = description.split(/\r?\n| - Trace ID/)[0]?.trim() || oauthError || 'token request failed';
    return new TokenError({ message: firstLine, aadsts, oauthError, transient: !permanent });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TokenError({ message: `token request failed: ${message}`, aadsts: null, oauthError: null, transient: true });
}
