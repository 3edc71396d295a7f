/**
 * Exchange Online's SMTP submission replies, as seen in real sessions with
 * smtp.office365.com, and the translation of smtp-server's own replies into
 * them (greeting, EHLO capabilities before and after STARTTLS, 2.1.0 Sender OK,
 * ...). smtp-server keeps the state machine; every line it sends passes through
 * {@link dressReply}, which also keeps texts that already carry an enhanced
 * status code from getting a second one.
 */
import { randomBytes } from 'node:crypto';

/** One SMTP reply: the code and the text after it (starting with the enhanced code). */
export interface SmtpReply {
  code: number;
  text: string;
}

/** An Error that smtp-server turns into the reply `responseCode text`. */
export interface SmtpReplyError extends Error {
  responseCode: number;
}

/** The wordings Exchange Online has used over the years for a denied Send As. */
export type SendAsDeniedVariant = '5.2.252' | '5.2.0' | '5.7.60';

/** SIZE advertised by Exchange Online (150 MiB). */
export const ADVERTISED_SIZE = 157286400;

const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3}(\s|$)/;

/** Parses a reply line such as `451 4.7.500 Server busy`. */
export function parseReply(line: string): SmtpReply {
  const match = /^([2-5]\d\d)[ -]?(.*)$/s.exec(line.trim());
  if (!match?.[1]) throw new Error(`not an SMTP reply: ${line}`);
  return { code: Number(match[1]), text: match[2] ?? '' };
}

/** Formats a reply as one line, `code text`. */
export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.text}`;
}

/** The error that makes smtp-server answer `reply`. */
export function replyError(reply: SmtpReply): SmtpReplyError {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

/** Where replies come from: host names and clock. */
export interface ReplySource {
  /** Name in the greeting and EHLO, e.g. EMULATOR.outlook.office365.com. */
  bannerName: string;
  /** Name in `[Hostname=...]`, e.g. EMULATOR.prod.outlook.com. */
  hostname: string;
  now: () => number;
}

/** Exchange's diagnostic tail: `[HOST 2024-10-10T22:49:55.123Z 08DCE8B62813AB2B]`. */
export function diagnostics(source: ReplySource): string {
  const id = randomBytes(8).toString('hex').toUpperCase();
  return `[${source.hostname.toUpperCase()} ${new Date(source.now()).toISOString()} ${id}]`;
}

/** The replies Exchange gives where relay365 must react. */
export const exchangeReplies = {
  authUnsuccessful: (s: ReplySource): SmtpReply => ({ code: 535, text: `5.7.3 Authentication unsuccessful ${diagnostics(s)}` }),
  smtpAuthDisabled: (scope: 'Tenant' | 'Mailbox', s: ReplySource): SmtpReply => ({
    code: 535,
    text: `5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the ${scope}. Visit https://aka.ms/smtp_auth_disabled for more information. ${diagnostics(s)}`,
  }),
  basicAuthUnsupported: (s: ReplySource): SmtpReply => ({
    code: 550,
    text: `5.7.30 Basic authentication is not supported for Client Submission. ${diagnostics(s)}`,
  }),
  notAuthenticated: (s: ReplySource): SmtpReply => ({
    code: 530,
    text: `5.7.57 Client not authenticated to send mail. ${diagnostics(s)}`,
  }),
  concurrentLimit: (s: ReplySource): SmtpReply => ({
    code: 432,
    text: `4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=${s.hostname}]`,
  }),
  /** Send As denied after DATA, in the wording of today (5.2.252) or of earlier years. */
  sendAsDenied: (mailbox: string, from: string, s: ReplySource, variant: SendAsDeniedVariant = '5.2.252'): SmtpReply => {
    const storeDriver =
      'STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception ' +
      `with message [BeginDiagnosticData]Cannot submit message.[EndDiagnosticData] [Hostname=${s.hostname}]`;
    if (variant === '5.7.60')
      return { code: 550, text: `5.7.60 SMTP; Client does not have permissions to send as this sender ${diagnostics(s)}` };
    if (variant === '5.2.0') return { code: 554, text: `5.2.0 ${storeDriver}` };
    return { code: 554, text: `5.2.252 SendAsDenied; ${mailbox} not allowed to send as ${from}; ${storeDriver}` };
  },
  quotaExceeded: (s: ReplySource): SmtpReply => ({
    code: 554,
    text:
      '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message ' +
      `[BeginDiagnosticData]Cannot submit message.[EndDiagnosticData] [Hostname=${s.hostname}]`,
  }),
  messageTooBig: (): SmtpReply => ({ code: 552, text: '5.3.4 Message size exceeds fixed maximum message size' }),
  tooManyRecipients: (): SmtpReply => ({ code: 452, text: '4.5.3 Too many recipients' }),
  recipientNotFound: (): SmtpReply => ({
    code: 550,
    text: '5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
  }),
  accepted: (messageId: string, s: ReplySource): SmtpReply => ({ code: 250, text: `2.0.0 OK ${messageId} [Hostname=${s.hostname}]` }),
};

/** smtp-server's fixed replies and Exchange's words for them. */
const TRANSLATIONS: Record<string, SmtpReply> = {
  '220 Ready to start TLS': { code: 220, text: '2.0.0 SMTP server ready' },
  '235 Authentication successful': { code: 235, text: '2.7.0 Authentication successful' },
  '221 Bye': { code: 221, text: '2.0.0 Service closing transmission channel' },
  '250 OK': { code: 250, text: '2.0.0 OK' },
  '250 Flushed': { code: 250, text: '2.0.0 Resetting' },
  '354 End data with <CR><LF>.<CR><LF>': { code: 354, text: 'Start mail input; end with <CRLF>.<CRLF>' },
  // Exchange does not offer AUTH before STARTTLS, so AUTH there is an unknown mechanism.
  '538 Error: Must issue a STARTTLS command first': { code: 504, text: '5.7.4 Unrecognized authentication type' },
  '504 Error: Unrecognized authentication type': { code: 504, text: '5.7.4 Unrecognized authentication type' },
  '452 Error: too many recipients': exchangeReplies.tooManyRecipients(),
};

/** What {@link dressReply} needs to know about the connection. */
export interface ReplyView extends ReplySource {
  secure: boolean;
  authenticated: boolean;
  remoteAddress: string;
  advertiseChunking: boolean;
  /** The reply owed for a failed XOAUTH2 exchange that went through a 334 challenge. */
  pendingAuthFailure?: SmtpReply;
}

/** Arguments of smtp-server's `connection.send(code, data, context)`. */
export type SendArgs = [code: number, data?: string | string[] | null, context?: string | false];

/** Rewrites one smtp-server reply into Exchange's; `context: false` stops smtp-server adding a code. */
export function dressReply([code, data, context]: SendArgs, view: ReplyView): SendArgs {
  // Only EHLO answers with several lines.
  if (Array.isArray(data)) return [250, ehloLines(view), false];
  if (code === 220 && context === false) return [220, greeting(view), false];
  if (code === 250 && context === false) return [250, `${view.bannerName} Hello [${view.remoteAddress}]`, false];
  const text = data ?? '';
  if (ENHANCED_CODE.test(text)) return [code, text, false];
  if (code === 535 && view.pendingAuthFailure) return [view.pendingAuthFailure.code, view.pendingAuthFailure.text, false];
  if (code === 250 && context === 'MAIL_FROM_OK') return [250, '2.1.0 Sender OK', false];
  if (code === 250 && context === 'RCPT_TO_OK') return [250, '2.1.5 Recipient OK', false];
  if (code === 552 && text.startsWith('Error: message exceeds fixed maximum message size')) {
    const tooBig = exchangeReplies.messageTooBig();
    return [tooBig.code, tooBig.text, false];
  }
  const translated = TRANSLATIONS[`${code} ${text}`];
  return translated ? [translated.code, translated.text, false] : [code, data, context];
}

function greeting(view: ReplyView): string {
  const date = new Date(view.now()).toUTCString().replace('GMT', '+0000');
  return `${view.bannerName} Microsoft ESMTP MAIL Service ready at ${date} [${randomBytes(8).toString('hex').toUpperCase()}]`;
}

/** EHLO capabilities in Exchange Online's order: STARTTLS before TLS, AUTH after it. */
function ehloLines(view: ReplyView): string[] {
  const lines = [`${view.bannerName} Hello [${view.remoteAddress}]`, `SIZE ${ADVERTISED_SIZE}`, 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES'];
  if (!view.secure) lines.push('STARTTLS');
  else if (!view.authenticated) lines.push('AUTH LOGIN XOAUTH2');
  lines.push('8BITMIME');
  // smtp-server has no BDAT, so CHUNKING is only advertised when a test asks for it.
  if (view.advertiseChunking) lines.push('BINARYMIME', 'CHUNKING');
  lines.push('SMTPUTF8');
  return lines;
}
