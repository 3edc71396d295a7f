/**
 * Queue IDs and the relay's own `Received:` trace header (RFC 5321 §4.4,
 * with the RFC 3848 `with` keywords).
 */
import { randomBytes } from 'node:crypto';

/** Random bytes drawn at a time: one call to the generator serves some 400 IDs. */
const RANDOM_POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

/**
 * `bytes` random bytes as hex, from a pool refilled by the system's generator (as randomUUID keeps
 * one): queue and session IDs are made per message and per connection, and name things, not secrets.
 */
export function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(RANDOM_POOL_BYTES);
    poolAt = 0;
  }
  poolAt += bytes;
  return pool.toString('hex', poolAt - bytes, poolAt);
}

/** A queue ID: time-ordered base-36 milliseconds plus 48 random bits, upper case. */
export function newQueueId(now: number = Date.now()): string {
  return `${now.toString(36)}${randomHex(6)}`.toUpperCase();
}

/** RFC 5322 date-time in UTC, e.g. `Sun, 29 Nov 2026 02:30:51 +0000`. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

export interface TraceInfo {
  queueId: string;
  helo: string;
  clientAddress: string;
  clientHostname: string | null;
  hostname: string;
  secure: boolean;
  authenticated: boolean;
  /** Named in a `for` clause only when the message has exactly one recipient (no list leaks). */
  recipients: string[];
  date: Date;
}

/** Strips characters that could break the header out of a client-supplied value. */
function clean(value: string): string {
  return value.replace(/[\r\n\t()<>;\\"]/g, '').slice(0, 255) || 'unknown';
}

/** Builds the folded `Received:` header line, ending in CRLF. */
export function receivedHeader(info: TraceInfo): Buffer {
  const protocol = `ESMTP${info.secure ? 'S' : ''}${info.authenticated ? 'A' : ''}`;
  const from = info.clientHostname
    ? `${clean(info.helo)} (${clean(info.clientHostname)} [${clean(info.clientAddress)}])`
    : `${clean(info.helo)} ([${clean(info.clientAddress)}])`;
  const forClause = info.recipients.length === 1 ? `\r\n\tfor <${clean(info.recipients[0] as string)}>` : '';
  const line = `Received: from ${from}\r\n\tby ${clean(info.hostname)} (relay365) with ${protocol} id ${info.queueId}${forClause};\r\n\t${rfc5322Date(info.date)}\r\n`;
  return Buffer.from(line, 'utf8');
}
