/**
 * What an email address is, said once for the listener (MAIL FROM, RCPT TO),
 * the email server settings (Mailbox, Send As Addresses), the allowed From
 * lists, the alert addresses, the configuration and the panel.
 *
 * An address is RFC 5321's Mailbox (§4.1.2) with a Dot-string local part and a
 * domain name, both of which may carry UTF-8 (RFC 6531, SMTPUTF8). As in
 * smtp-address-parser, which the tests hold this grammar against, the domain
 * is fully qualified (RFC 5321 §2.3.5: two labels or more, the last of two
 * characters or more) with labels of at most 63 characters and 253 in all.
 * Narrower than RFC 5321 on purpose: no quoted local parts and no address
 * literals (Exchange Online addresses have neither, the listener took
 * neither, and lists typed with spaces and commas could not hold them), and
 * no invisible or look-alike characters (controls, zero-width and bidi marks,
 * spaces). The parser itself is not used at run time: its Earley algorithm
 * takes 80 µs for a short address and 20 ms for a long one, where this
 * regular expression takes a microsecond or two, and a message may have 500
 * recipients.
 */
import { z } from 'zod';

/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, angle brackets included. */
const MAX_ADDRESS_OCTETS = 254;
const MAX_DOMAIN_LENGTH = 253;

/** Non-ASCII characters that would hide or disguise what an address says. */
const UNSEEN = String.raw`\p{Cc}\p{Cf}\p{Cs}\p{Z}`;
/** RFC 5322 atext (printable ASCII but specials, space and the dot), plus UTF-8 (RFC 6531). */
const ATEXT = String.raw`[^\x00-\x20"(),.:;<>@[\\\]\x7f${UNSEEN}]`;
/** A letter or digit, ASCII or not (RFC 5321 Let-dig; RFC 6531 allows U-labels). */
const LET_DIG = String.raw`[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f${UNSEEN}]`;
/** Let-dig or a hyphen (RFC 5321 Ldh-str). */
const LDH = String.raw`[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x7f${UNSEEN}]`;
const DOT_STRING = String.raw`${ATEXT}+(?:\.${ATEXT}+)*`;
const LABEL = `${LET_DIG}(?:${LDH}{0,61}${LET_DIG})?`;
const TOP_LABEL = `${LET_DIG}${LDH}{0,61}${LET_DIG}`;
const DOMAIN = String.raw`(?:${LABEL}\.)+${TOP_LABEL}`;

const ADDRESS = new RegExp(`^${DOT_STRING}@(${DOMAIN})$`, 'u');
/** A sender's domain as legacy machines name themselves: one label or more (`root@localhost`, `scanner@erp01`). */
const SENDER = new RegExp(String.raw`^${DOT_STRING}@((?:${LABEL}\.)*${LABEL})$`, 'u');
const DOMAIN_ENTRY = new RegExp(`^@(${DOMAIN})$`, 'u');

/** Whether `text` is an email address as relay365 takes one (see the module header); case is kept and not judged. */
export function isAddress(text: string): boolean {
  if (text.length > MAX_ADDRESS_OCTETS) return false;
  const domain = ADDRESS.exec(text)?.[1];
  return domain !== undefined && domain.length <= MAX_DOMAIN_LENGTH && Buffer.byteLength(text) <= MAX_ADDRESS_OCTETS;
}

/**
 * Whether `text` may be the envelope sender (MAIL FROM) of mail a client hands over: an address,
 * or one whose domain is a bare machine name. Cron jobs and old apps send as `root@host`; with
 * From Address Handling `rewrite` such mail goes out as the mailbox, so refusing it would refuse
 * mail that Microsoft takes. Recipients, settings and lists take only addresses.
 */
export function isEnvelopeSender(text: string): boolean {
  if (isAddress(text)) return true;
  const domain = SENDER.exec(text)?.[1];
  return domain !== undefined && domain.length <= MAX_DOMAIN_LENGTH && Buffer.byteLength(text) <= MAX_ADDRESS_OCTETS;
}

/** Whether `text` is an `@domain` entry (every address at that domain, not its subdomains) of an allowed From list. */
export function isDomainEntry(text: string): boolean {
  const domain = DOMAIN_ENTRY.exec(text)?.[1];
  return domain !== undefined && domain.length <= MAX_DOMAIN_LENGTH;
}

/**
 * One address as a form, a command-line flag or an API body gives it: trimmed,
 * then checked, with `message` (which names an example) when it is not one.
 */
export function addressSchema(message: string) {
  return z.string({ error: message }).trim().refine(isAddress, message);
}
