/**
 * The message behind Send Test Email: a small, well-formed text/plain mail
 * from the server's mailbox. Admin input never breaks out of its header.
 */
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from './trace.js';

export interface TestMail {
  from: string;
  to: string;
  subject: string;
  body: string;
}

/** RFC 2047 encoded-word for a header value that is not plain ASCII. */
function encodeHeader(value: string): string {
  const oneLine = value.replace(/[\r\n]+/g, ' ').trim();
  return /^[\x20-\x7e]*$/.test(oneLine) ? oneLine : `=?UTF-8?B?${Buffer.from(oneLine, 'utf8').toString('base64')}?=`;
}

/** Builds the raw RFC 5322 message with CRLF line ends. */
export function buildTestMessage(mail: TestMail, date: Date = new Date()): Buffer {
  const domain = mail.from.split('@')[1] ?? 'relay365.invalid';
  const body = mail.body.replace(/\r?\n/g, '\r\n');
  const headers = [
    `From: ${mail.from}`,
    `To: ${mail.to}`,
    `Subject: ${encodeHeader(mail.subject)}`,
    `Date: ${rfc5322Date(date)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}.test@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    'X-Mailer: relay365 Send Test Email',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}${body.endsWith('\r\n') ? '' : '\r\n'}`, 'utf8');
}
