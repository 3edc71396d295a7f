/**
 * The addresses relay365's sides took differently before there was one
 * address grammar (src/address.ts), with what each side said then and what
 * every side says now. `before` keeps the old answers as a record: the
 * listener's MAIL FROM/RCPT check, Mailbox and Send As Addresses, the allowed
 * From list, RELAY365_ALERT_EMAIL, the Alerts page's addresses, and the panel's
 * account and test email addresses.
 */

export type Side = 'listener' | 'mailbox' | 'allowFrom' | 'config' | 'alerts' | 'panel';

export interface AddressCase {
  address: string;
  /** The sides that took it before. */
  before: readonly Side[];
  /** Whether every side takes it now. */
  now: boolean;
  /** Whether the listener takes it as an envelope sender (MAIL FROM) now, when that differs (machine names). */
  sender?: boolean;
}

const ALL: readonly Side[] = ['listener', 'mailbox', 'allowFrom', 'config', 'alerts', 'panel'];
const allBut = (...not: Side[]): Side[] => ALL.filter((side) => !not.includes(side));

export const ADDRESS_CASES: readonly AddressCase[] = [
  // Taken everywhere before and now: the control.
  { address: "o'brien+tag@contoso.com", before: ALL, now: true },
  // Not fully qualified (RFC 5321 §2.3.5).
  { address: 'a@b', before: ['listener', 'mailbox', 'panel'], now: false, sender: true },
  { address: 'root@localhost', before: ['listener', 'mailbox', 'panel'], now: false, sender: true },
  { address: 'a@contoso.c', before: allBut('alerts'), now: false, sender: true },
  // A domain label is letters, digits and inner hyphens (smtp-server refuses an underscore at MAIL FROM itself).
  { address: 'x@b_c.example', before: ['listener', 'config', 'panel'], now: false },
  { address: 'a@-contoso.com', before: ['listener', 'config', 'panel'], now: false },
  { address: 'a@contoso..com', before: ['listener', 'mailbox', 'config', 'panel'], now: false },
  { address: 'a@contoso.com.', before: ['listener', 'config', 'panel'], now: false },
  { address: `a@${'b'.repeat(64)}.com`, before: ALL, now: false },
  // A Dot-string has no empty atom.
  { address: 'a..b@contoso.com', before: allBut('alerts'), now: false },
  { address: '.a@contoso.com', before: allBut('alerts'), now: false },
  { address: 'a.@contoso.com', before: allBut('alerts'), now: false },
  // RFC 5322 atext the Alerts page refused.
  { address: 'a{b}|c@contoso.com', before: allBut('alerts'), now: true },
  // UTF-8 local parts and domains (RFC 6531).
  { address: 'jürgen@contoso.com', before: allBut('alerts'), now: true },
  { address: 'üser@bücher.example', before: ['listener', 'config', 'panel'], now: true },
  { address: '用户@例子.广告', before: ['listener', 'config', 'panel'], now: true },
  // Invisible characters make two addresses look alike.
  { address: 'a\u200b@contoso.com', before: allBut('alerts'), now: false },
  // Local parts over 64 octets, as smtp-server takes them (forwarding and VERP addresses).
  { address: `${'x'.repeat(65)}@contoso.com`, before: allBut('panel'), now: true },
  // RFC 5321 has them; relay365 takes neither.
  { address: 'user@[10.0.0.1]', before: ['config'], now: false },
  { address: '"john doe"@contoso.com', before: [], now: false },
];
