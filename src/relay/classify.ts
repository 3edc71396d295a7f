/**
 * What to do after a failed delivery attempt, as data: one pure function over
 * the upstream failure and a retry delay table (PRODUCT.md, Retry and
 * Authorization rules; MICROSOFT.md, replies and limits).
 */

/** Messages give up after this long in the queue. */
export const MAX_QUEUE_LIFETIME_MS = 5 * 24 * 60 * 60_000;

const MINUTE = 60_000;
/** Delay before attempt n+1 after n failed attempts; the last entry repeats. */
export const RETRY_DELAYS_MS: readonly number[] = [
  1 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  60 * MINUTE,
  120 * MINUTE,
  240 * MINUTE,
];

/** How long a server pauses after Microsoft's quota or sender-throttling reply. */
export const QUOTA_PAUSE_MS = 60 * MINUTE;

/** A normalised upstream failure. */
export type Failure =
  /** The token could not be had; `transient` when the token error table says retry (auth/token-classify.ts). */
  | { kind: 'token'; code: string; transient: boolean; message: string }
  /** The SMTP server answered with an error reply. */
  | { kind: 'smtp'; code: number; reply: string }
  /** No SMTP reply: connection refused, TLS failure, timeout, dropped socket. */
  | { kind: 'network'; code: string; message: string }
  /** Microsoft Graph answered with an error (graph/graph-client.ts). */
  | GraphFailure;

/**
 * An error answer of Microsoft Graph: its HTTP status, Graph's error code and message, and
 * Retry-After. Status 0 means relay365 could not put the message into Graph requests at all.
 */
export interface GraphFailure {
  kind: 'graph';
  /** The request that failed (sendMail, createDraft, …), for the hint and the log. */
  step: string;
  status: number;
  code: string;
  message: string;
  retryAfterMs: number | null;
  requestId?: string;
}

export type Decision =
  /** Try again later; `throttle` also lowers the server's concurrency for a while. */
  | { action: 'retry'; throttle: boolean }
  /** Permanent: fail the recipients the reply concerns. */
  | { action: 'fail' }
  /** The server cannot authenticate: hold its mail until an admin fixes it. */
  | { action: 'hold' }
  /** The mailbox hit a Microsoft quota: defer the mail and pause the server. */
  | { action: 'pause'; forMs: number };

/** SMTP replies that mean the account or tenant is not set up to send: admins fix these. */
const HOLD_REPLIES: readonly RegExp[] = [
  /^535\b/, // 5.7.3 token rejected, 5.7.139 SMTP AUTH disabled / policy, 5.7.8 bad credentials
  /^530 5\.7\.57\b/, // not authenticated
  /^550 5\.7\.30\b/, // basic authentication not supported
  /^430 4\.2\.0\b.*logon failure/i, // app-only without mailbox permission
  /^5\d\d 5\.7\.(705|708|750)\b/, // tenant or IP blocked
];

const PAUSE_REPLIES: readonly RegExp[] = [/SubmissionQuotaExceeded/i, /^5\d\d 5\.2\.25[1-5]\b.*throttled/i];

/**
 * Replies that refuse a token as too close to its expiry, not the sender: retry with a new token.
 * High Volume Email answers `501 5.5.127` about ten minutes before a token expires (MICROSOFT.md).
 */
const STALE_TOKEN_REPLIES: readonly RegExp[] = [/^501 5\.5\.127\b/];

/**
 * Graph error codes with one meaning whatever the status (MICROSOFT.md, Graph errors): the
 * mailbox, its permissions or the token need an admin (hold); the message itself cannot go
 * (fail); a draft or upload URL that vanished is started over on the next attempt (retry).
 */
const GRAPH_CODES: Readonly<Record<string, 'hold' | 'fail' | 'retry'>> = {
  ErrorAccessDenied: 'hold',
  MailboxNotEnabledForRESTAPI: 'hold',
  ErrorInvalidUser: 'hold',
  ResourceNotFound: 'hold',
  InvalidAuthenticationToken: 'hold',
  Authorization_RequestDenied: 'hold',
  ErrorSendAsDenied: 'fail',
  ErrorMessageSizeExceeded: 'fail',
  RequestBodyTooLarge: 'fail',
  ErrorInvalidRecipients: 'fail',
  ErrorItemNotFound: 'retry',
  InvalidRange: 'retry',
};

function classifyGraph(failure: GraphFailure): Decision {
  const { status, code, retryAfterMs } = failure;
  if (code === 'ErrorSubmissionQuotaExceeded') return { action: 'pause', forMs: retryAfterMs ?? QUOTA_PAUSE_MS };
  // Throttled or unavailable with Retry-After: nothing goes to the mailbox before it elapsed.
  if ((status === 429 || status === 503) && retryAfterMs !== null) return { action: 'pause', forMs: retryAfterMs };
  const known = GRAPH_CODES[code];
  if (known === 'retry') return { action: 'retry', throttle: false };
  if (known) return { action: known };
  if (status === 429) return { action: 'retry', throttle: true };
  if (status === 401 || status === 403) return { action: 'hold' };
  if (status === 408 || status >= 500) return { action: 'retry', throttle: false };
  // Any other refusal (400 and the like), and a message relay365 cannot put into a request (0).
  return { action: 'fail' };
}

/** Decides what an attempt's failure means for the message and the server. */
export function classify(failure: Failure): Decision {
  switch (failure.kind) {
    case 'token':
      return failure.transient ? { action: 'retry', throttle: false } : { action: 'hold' };
    case 'network':
      return { action: 'retry', throttle: false };
    case 'graph':
      return classifyGraph(failure);
    case 'smtp': {
      const reply = `${failure.code} ${failure.reply.replace(/^\d{3}[ -]/, '')}`;
      if (HOLD_REPLIES.some((pattern) => pattern.test(reply))) return { action: 'hold' };
      if (PAUSE_REPLIES.some((pattern) => pattern.test(reply))) return { action: 'pause', forMs: QUOTA_PAUSE_MS };
      if (/^432 4\.3\.2\b/.test(reply)) return { action: 'retry', throttle: true };
      if (STALE_TOKEN_REPLIES.some((pattern) => pattern.test(reply))) return { action: 'retry', throttle: false };
      if (failure.code >= 400 && failure.code < 500) return { action: 'retry', throttle: false };
      if (failure.code >= 500 && failure.code < 600) return { action: 'fail' };
      return { action: 'retry', throttle: false };
    }
  }
}

/** Delay before the next attempt, after `attempts` failed ones (1-based). */
export function retryDelay(attempts: number): number {
  const index = Math.min(Math.max(attempts, 1), RETRY_DELAYS_MS.length) - 1;
  return RETRY_DELAYS_MS[index] as number;
}
