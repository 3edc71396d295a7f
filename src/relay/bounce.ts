/**
 * Delivery status notifications as relay365 sends them to an envelope sender
 * (RFC 3464): a `multipart/report` with a readable text naming each recipient,
 * the reply and relay365's hint, the `message/delivery-status` fields, and the
 * original header block as `text/rfc822-headers` (RFC 6522). Built from
 * nodemailer's MIME nodes. Also which messages never get one: automatic mail
 * and reports. Pure: the caller reads the store and the spool.
 */
import { foldLines } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import type { Hint } from '../auth/hints.js';
import type { NoticeKind } from '../store/notices.js';
import { headerFields } from './header-block.js';
import { rfc5322Date } from './trace.js';

/** The route of notices in the relay log. */
export const NOTICE_ROUTE = 'bounces';
/** A message still deferred this long after it arrived gets a delay notice (when its server's Delay Notices is on). */
export const DELAY_NOTICE_AFTER_MS = 4 * 60 * 60_000;

export interface NoticeRecipient {
  address: string;
  /** The last reply: the email server's SMTP reply, or relay365's words when there was none. */
  reply: string;
  /** relay365's hint for the reply (src/auth/hints.ts), if it has one. */
  hint: Hint | null;
}

/** The message a notice is about, as the relay log and the spool know it. */
export interface OriginalMessage {
  queueId: string;
  /** The Subject header as received (encoded words left encoded). */
  subject: string | null;
  /** The Message-ID header as received. */
  messageId: string | null;
  receivedAt: number;
  /** When relay365 stops trying (a delay notice says so). */
  expiresAt: number;
  /** Its header block, as relay365 forwarded it (with relay365's Received: line). */
  headers: Buffer;
}

export interface Notice {
  kind: NoticeKind;
  /** The notice's From: the email server's mailbox. */
  from: string;
  /** The original envelope sender. */
  to: string;
  original: OriginalMessage;
  recipients: NoticeRecipient[];
  /** This machine's host name (Reporting-MTA). */
  reportingMta: string;
  /** The email server's host, named as Remote-MTA next to its SMTP replies. */
  remoteMta: string;
  date: number;
}

/** An enhanced status code (RFC 3463) in a reply. */
const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
/** The SMTP reply in a reply text, also after relay365's own words ("gave up after 3 attempts: 451 …"). */
const SMTP_REPLY = /(?:^|: )([2-5]\d\d(?:[ -].*)?)$/s;
/** A Message-ID that can be referred to as it is. */
const MESSAGE_ID = /^<[^<>\s]+>$/;

/** Field text for `message/delivery-status`, which is 7-bit: one line, printable ASCII. */
function ascii(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
}

/** An address as a Final-Recipient: `rfc822` when ASCII, else RFC 6533's `utf-8` type in its xtext form. */
function addressField(address: string): string {
  if (/^[\x21-\x7e]+$/.test(address)) return `rfc822; ${address}`;
  const xtext = [...address]
    .map((c) => (/[\x21-\x7e]/.test(c) && !'\\+='.includes(c) ? c : `\\x{${(c.codePointAt(0) as number).toString(16).toUpperCase()}}`))
    .join('');
  return `utf-8; ${xtext}`;
}

/**
 * The status code for a recipient (RFC 3464 §2.3.4). A failure without a permanent code failed
 * because its time ran out: X.4.7, delivery time expired (RFC 3463).
 */
export function statusCode(kind: NoticeKind, reply: string): string {
  const code = ENHANCED.exec(reply);
  const smtp = SMTP_REPLY.exec(reply)?.[1];
  if (kind === 'delayed') return code?.[1] === '4' ? (code[0] as string) : '4.0.0';
  if (code?.[1] === '5') return code[0] as string;
  return smtp?.startsWith('5') ? '5.0.0' : '5.4.7';
}

/** One header-like field, folded like a header (the delivery-status fields are parsed as headers). */
const field = (name: string, value: string): string => foldLines(`${name}: ${value}`, 76);

/** The `message/delivery-status` body: per-message fields, then one block per recipient (RFC 3464 §2). */
function deliveryStatus(notice: Notice): string {
  const blocks = [
    [
      field('Reporting-MTA', `dns; ${ascii(notice.reportingMta)}`),
      field('X-Relay365-Queue-ID', notice.original.queueId),
      field('Arrival-Date', rfc5322Date(new Date(notice.original.receivedAt))),
    ],
    ...notice.recipients.map((r) => {
      const smtp = SMTP_REPLY.exec(r.reply)?.[1];
      return [
        field('Final-Recipient', addressField(r.address)),
        // The kinds are RFC 3464's Action values.
        field('Action', notice.kind),
        field('Status', statusCode(notice.kind, r.reply)),
        ...(smtp ? [field('Remote-MTA', `dns; ${ascii(notice.remoteMta)}`), field('Diagnostic-Code', `smtp; ${ascii(smtp)}`)] : []),
        ...(notice.kind === 'delayed' ? [field('Will-Retry-Until', rfc5322Date(new Date(notice.original.expiresAt)))] : []),
      ];
    }),
  ];
  return `${blocks.map((lines) => lines.join('\r\n')).join('\r\n\r\n')}\r\n`;
}

/** The readable part: what happened, per recipient the reply and what the relay365 administrator can do. */
function readableText(notice: Notice): string {
  const { original } = notice;
  const opening =
    notice.kind === 'failed'
      ? ['relay365 could not deliver your message to the recipients below; it will not try again.']
      : [
          'relay365 has not yet been able to deliver your message to the recipients below.',
          `It keeps trying until ${rfc5322Date(new Date(original.expiresAt))}; you do not need to send it again.`,
        ];
  const recipients = notice.recipients.flatMap((r) => [
    '',
    r.address,
    `  Reply: ${r.reply}`,
    ...(r.hint ? [`  What it means: ${r.hint.meaning}.`, `  What the relay365 administrator can do: ${r.hint.fix}`] : []),
  ]);
  return [
    ...opening,
    '',
    `Subject: ${original.subject ?? '(none)'}`,
    `Accepted: ${rfc5322Date(new Date(original.receivedAt))}`,
    `Queue ID: ${original.queueId}`,
    ...recipients,
    '',
    'The delivery report and the headers of your message are attached.',
    '',
  ].join('\r\n');
}

/** Builds the notice: the complete message, CRLF line ends, ready to be queued. */
export async function buildNotice(notice: Notice): Promise<Buffer> {
  const { original } = notice;
  const root = new MimeNode('multipart/report; report-type=delivery-status', { newline: 'win' });
  const topic = original.subject ?? 'your message';
  root.setHeader({
    From: notice.from,
    To: notice.to,
    Subject: notice.kind === 'failed' ? `Undeliverable: ${topic}` : `Delivery delayed: ${topic}`,
    Date: new Date(notice.date),
    // RFC 3834: auto-responders do not answer it, and relay365 never sends a notice about a notice.
    'Auto-Submitted': 'auto-replied',
  });
  if (original.messageId && MESSAGE_ID.test(original.messageId)) root.setHeader('References', original.messageId);
  root.createChild('text/plain; charset=utf-8').setContent(readableText(notice));
  root.createChild('message/delivery-status').setContent(deliveryStatus(notice));
  const headers = original.headers.toString('utf8');
  root.createChild(/^[\x00-\x7f]*$/.test(headers) ? 'text/rfc822-headers' : 'text/rfc822-headers; charset=utf-8').setContent(headers);
  return root.build();
}

/**
 * True for mail that must never get a notice: automatic mail (`Auto-Submitted` other than `no`,
 * RFC 3834 §2) and reports (`multipart/report`: notices, read receipts), so that two mail
 * systems never answer each other's notices.
 */
export function isAutomatic(headers: Buffer): boolean {
  const fields = headerFields(headers);
  return (
    fields.all('auto-submitted').some((value) => (/^[^;(\s]*/.exec(value)?.[0] ?? '').toLowerCase() !== 'no') ||
    fields.all('content-type').some((value) => /^multipart\/report\b/i.test(value))
  );
}
