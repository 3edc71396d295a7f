/**
 * A failure to get a token, normalised from MSAL's errors: the AADSTS number
 * (MICROSOFT.md says to classify on it), the OAuth error, what to do about it
 * (the table in `token-classify.ts`) and the admin hint. Messages never
 * include secrets or tokens.
 */
import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { hintForTokenError, type Hint } from './hints.js';
import { classifyTokenFailure, type TokenAction } from './token-classify.js';

export class TokenError extends Error {
  /** `AADSTS7000215`, or the OAuth/MSAL error code when Microsoft gave no number. */
  readonly code: string;
  readonly aadsts: string | null;
  readonly oauthError: string | null;
  /** Retry with backoff, hold the server's mail until an admin fixes it, or fail the request for good. */
  readonly action: TokenAction;
  readonly hint: Hint | null;

  /** `action` comes from the classification table; relay365's own errors may say `transient` instead. */
  constructor(opts: { message: string; aadsts: string | null; oauthError: string | null; action?: TokenAction; transient?: boolean }) {
    super(opts.message);
    this.name = 'TokenError';
    this.aadsts = opts.aadsts;
    this.oauthError = opts.oauthError;
    this.code = opts.aadsts ? `AADSTS${opts.aadsts}` : (opts.oauthError ?? 'token_error');
    this.action = opts.action ?? (opts.transient ? 'retry' : 'hold');
    this.hint = hintForTokenError(opts.aadsts, opts.oauthError);
  }

  /** True when retrying later may succeed (network, 5xx, throttling). */
  get transient(): boolean {
    return this.action === 'retry';
  }
}

/**
 * True for MSAL's replay of an earlier 429/5xx: within Retry-After (60 s by default) it throws a
 * ServerError without asking, with the AADSTS numbers joined as its code and no status (ThrottlingUtils).
 */
export function isThrottleReplay(err: unknown): boolean {
  return err instanceof ServerError && err.status === undefined && /^\d+( \d+)*$/.test(err.errorCode);
}

/** True when the error is Microsoft's answer to a request (not MSAL's own error, nor its replay). */
export function isMicrosoftAnswer(err: unknown): boolean {
  if (err instanceof ServerError) return !isThrottleReplay(err);
  // MSAL also raises InteractionRequiredAuthError itself (no_tokens_found); Microsoft's carry a trace id.
  return err instanceof InteractionRequiredAuthError && err.traceId !== '';
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
    const replayed = isThrottleReplay(err);
    // A replay's code is the AADSTS numbers, not an OAuth error.
    const oauthError = (!replayed && err.errorCode) || null;
    const status = err instanceof ServerError ? err.status : undefined;
    const action = classifyTokenFailure({ aadsts, oauthError, status, replayed, fromMicrosoft: isMicrosoftAnswer(err) });
    // MSAL wraps Microsoft's text ("Error(s): 54005 - Timestamp: … - Description: AADSTS54005: …");
    // the description's first line names the problem, the rest is trace ids.
    const text = err.errorMessage || err.message;
    const description = text.includes('AADSTS') ? text.slice(text.indexOf('AADSTS')) : text;
    const firstLine = description.split(/\r?\n| - Trace ID/)[0]?.trim() || oauthError || 'token request failed';
    return new TokenError({ message: firstLine, aadsts, oauthError, action });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TokenError({ message: `token request failed: ${message}`, aadsts: null, oauthError: null, action: 'retry' });
}
