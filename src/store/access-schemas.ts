/**
 * Relay access described once: a relay user's name, password and allowed From
 * list, and an allowed network's CIDR. The panel, the CLI and the store all
 * validate with these schemas, so a value is accepted or refused the same way
 * everywhere, with the same message.
 */
import { z } from 'zod';
import { isAddress, isDomainEntry } from '../address.js';
import { parseCidr, type Cidr } from '../cidr.js';

/** Shortest password accepted for a relay user (the generated ones are longer). */
export const MIN_RELAY_PASSWORD_LENGTH = 12;
const MAX_RELAY_PASSWORD_LENGTH = 128;
const MAX_ALLOW_FROM_ENTRIES = 100;

/** The names devices type into their SMTP settings: letters, digits and `._@+-`. */
export const relayUserName = z
  .string()
  .trim()
  .min(1, 'Enter a username.')
  .max(64, 'A username has at most 64 characters.')
  .regex(/^[A-Za-z0-9._@+-]+$/, 'Use letters, digits and . _ @ + - only (no spaces).');

export const relayPassword = z
  .string()
  .min(MIN_RELAY_PASSWORD_LENGTH, `A relay password has at least ${MIN_RELAY_PASSWORD_LENGTH} characters.`)
  .max(MAX_RELAY_PASSWORD_LENGTH, `A relay password has at most ${MAX_RELAY_PASSWORD_LENGTH} characters.`)
  // Devices send the password in AUTH PLAIN or LOGIN; control characters never survive their forms.
  .regex(/^[^\u0000-\u001f\u007f]+$/u, 'A relay password cannot contain control characters.');

/**
 * An allowed From list as typed: addresses and `@domain`s separated by commas,
 * spaces or new lines. Empty means any sender. Entries are lower-cased.
 */
export const allowFromList = z
  .string()
  .transform((text) =>
    text
      .split(/[\s,;]+/)
      .map((entry) => entry.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(
        z.string().refine((entry) => isAddress(entry) || isDomainEntry(entry), {
          error: (i) => `${JSON.stringify(i.input)} is neither an address nor an @domain.`,
        }),
      )
      .max(MAX_ALLOW_FROM_ENTRIES, `At most ${MAX_ALLOW_FROM_ENTRIES} entries.`)
      .transform((list) => [...new Set(list)]),
  );

/** Whether `address` is on an allowed From list (empty: anyone). */
export function fromAllowed(list: readonly string[], address: string): boolean {
  if (list.length === 0) return true;
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  const domain = at >= 0 ? lower.slice(at) : null;
  return list.some((entry) => (entry.startsWith('@') ? entry === domain : entry === lower));
}

export const cidr = z
  .string()
  .trim()
  .min(1, 'Enter a network such as 192.168.10.0/24.')
  .transform((text, ctx) => {
    const parsed = parseCidr(text);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  });

/** Shorter prefixes are refused unless forced: they let in a whole provider, or the Internet itself. */
export const MIN_NETWORK_PREFIX = { ipv4: 8, ipv6: 32 } as const;
/** Rules wider than these (a /16 of IPv4, a site's /48 of IPv6) are flagged on the Networks page and by `relay365 doctor`. */
export const WIDE_NETWORK_PREFIX = { ipv4: 16, ipv6: 48 } as const;

/** How many addresses a rule covers, as a person reads it: `65,536`, `2^80`. */
function addressCount(rule: Cidr): string {
  const bits = (rule.family === 'ipv4' ? 32 : 128) - rule.prefix;
  return bits <= 32 ? (2 ** bits).toLocaleString('en-US') : `2^${bits}`;
}

/**
 * Why `rule` may not be allowed without forcing it (`/0`, or shorter than a
 * /8 or a /32), or null. Each surface adds how to force it there.
 */
export function tooWideToAllow(rule: Cidr): string | null {
  const min = MIN_NETWORK_PREFIX[rule.family];
  if (rule.prefix >= min) return null;
  const covered = rule.prefix === 0 ? `every ${rule.family === 'ipv4' ? 'IPv4' : 'IPv6'} address` : `${addressCount(rule)} addresses`;
  return `${rule.text} covers ${covered}: anyone in that range could send mail as your tenant through relay365 without a password, so a network wider than a /${min} is refused unless forced`;
}

/**
 * A warning for a rule wider than a /16 (IPv4) or a /48 (IPv6), or null.
 * Loopback rules reach only the relay's own machine and are never flagged.
 */
export function wideNetworkWarning(rule: Cidr): string | null {
  if (rule.prefix >= WIDE_NETWORK_PREFIX[rule.family]) return null;
  if (rule.family === 'ipv4' && rule.prefix >= 8 && rule.address.startsWith('127.')) return null;
  return `${rule.text} is wider than a /${WIDE_NETWORK_PREFIX[rule.family]}: anyone among its ${addressCount(rule)} addresses can send mail as your tenant without a password`;
}

/** Renders a schema failure as one line: the first problem, in the words above. */
export function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'The value is not valid.';
}
