/**
 * The message behind Send Test Email: a small text/plain mail from the
 * server's mailbox, written by nodemailer's MailComposer like relay365's other
 * mail, so admin input never breaks out of its header and long subjects fold
 * into encoded words of at most 75 characters (RFC 2047 §2).
 */
import { hostname } from 'node:os';
import MailComposer from 'nodemailer/lib/mail-composer';
import { z } from 'zod';
import { addressSchema } from '../address.js';
import type { EmailServer } from '../store/servers.js';

/** The address relay365's own mail (test emails, alerts) comes from: the server's mailbox or account. */
export function ownSender(server: Pick<EmailServer, 'mailbox' | 'authorizedAccount' | 'username'>): string {
  return server.mailbox ?? server.authorizedAccount ?? server.username ?? `relay365@${hostname()}`;
}

const ONE_LINE = 'Use one line of at most 200 characters.';

/** A test email as the panel's form, the API and the CLI take it; empty fields get the caller's defaults. */
export const testEmailSchema = z.object({
  to: addressSchema('Enter an email address such as admin@contoso.com.'),
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

/** Builds the raw message with CRLF line ends. */
export async function buildTestMessage(mail: TestMail, date: Date = new Date()): Promise<Buffer> {
  const message = new MailComposer({
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.body,
    date,
    newline: 'windows',
    // Encoded words (and a body that is not ASCII) in base64, as the test email always wrote them.
    textEncoding: 'base64',
  }).compile();
  // Set after compiling, so it follows From, To and Subject instead of leading the header.
  message.setHeader('X-Mailer', 'relay365 Send Test Email');
  return message.build();
}
