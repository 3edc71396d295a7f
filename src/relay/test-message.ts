/**
 * The message behind Send Test Email: a small, well-formed text/plain mail
 * from the server's mailbox. Admin input never breaks out of its header.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { EmailServer } from '../store/servers.js';
import { rfc5322Date } from './trace.js';

/** The address relay365's own mail (test emails, alerts) comes from: the server's mailbox or account. */
export function ownSender(server: Pick<EmailServer, 'mailbox' | 'authorizedAccount' | 'username'>): string {
  return server.mailbox ?? server.authorizedAccount ?? server.username ?? `relay365@${hostname()}`;
}

/** What an admin may type as a test email's recipient (as for panel accounts). */
const RECIPIENT = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,255}$/;
const ONE_LINE = 'Use one line of at most 200 characters.';

/** A test email as the panel's form, the API and the CLI take it; empty fields get the caller's defaults. */
export const testEmailSchema = z.object({
  to: z
    .string({ error: 'Enter an email address such as admin@contoso.com.' })
    .trim()
    .regex(RECIPIENT, 'Enter an email address such as admin@contoso.com.'),
  subject: z
    .string({ error: ONE_LINE })
    .max(200, ONE_LINE)
    .refine((text) => !/[\r\n]/.test(text), ONE_LINE)
    .default(''),
  body: z.string({ error: 'Use at most 10,000 characters.' }).max(10_000, 'Use at most 10,000 characters.').default(''),
});
export type TestEmailInput = z.output<typeof testEmailSchema>;

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
