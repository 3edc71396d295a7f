/**
 * Replies to SMTP clients. One error type carries the reply code and the
 * enhanced status code, which smtp-server puts on the wire.
 */

export class SmtpError extends Error {
  readonly responseCode: number;

  constructor(code: number, enhanced: string, text: string) {
    // smtp-server prints `${responseCode} ${message}`; the enhanced code leads the text.
    super(`${enhanced} ${text}`);
    this.name = 'SmtpError';
    this.responseCode = code;
  }
}

export const REPLIES = {
  relayDenied: () => new SmtpError(550, '5.7.1', 'Relaying denied'),
  authRequired: () => new SmtpError(530, '5.7.0', 'Authentication required'),
  authFailed: () => new SmtpError(535, '5.7.8', 'Authentication credentials invalid'),
  authLocked: (until: number) =>
    new SmtpError(454, '4.7.0', `Too many failed logins from your address; AUTH is refused until ${new Date(until).toISOString()}`),
  // Logins refused before any password was checked: RFC 4954's temporary authentication failure.
  authInProgress: () => new SmtpError(454, '4.7.0', 'Too many logins from your address are being checked; try again later'),
  authBusy: () => new SmtpError(454, '4.7.0', 'Too many logins are being checked; try again later'),
  tooManyConnections: (limit: number) =>
    new SmtpError(421, '4.7.0', `Too many connections from your address (limit ${limit}); try again later`),
  serverBusy: () => new SmtpError(421, '4.3.2', 'All connections are in use; try again later'),
  senderNotAllowed: (text: string) => new SmtpError(550, '5.7.1', text),
  badSender: () => new SmtpError(501, '5.1.7', 'Bad sender address syntax'),
  badRecipient: () => new SmtpError(501, '5.1.3', 'Bad recipient address syntax'),
  noServer: () => new SmtpError(451, '4.3.0', 'relay365 has no email server configured yet; try again later'),
  tooBig: (limit: number) => new SmtpError(552, '5.3.4', `Message size exceeds fixed maximum message size (${limit} bytes)`),
  storageFailed: () => new SmtpError(451, '4.3.0', 'Temporary local problem storing the message; try again later'),
  // A check the session needed could not run (the database unreachable): the client keeps its mail and tries again.
  localProblem: () => new SmtpError(451, '4.3.0', 'Temporary local problem; try again later'),
  // RFC 3463 4.3.1 "mail system full"; Postfix's wording for queue_minfree.
  insufficientStorage: () => new SmtpError(452, '4.3.1', 'Insufficient system storage'),
} as const;
