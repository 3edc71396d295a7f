/**
 * The sender policy of an email server (`From Address Handling`). `rewrite`
 * makes the mailbox the sender at delivery time: envelope and `From:` name the
 * mailbox and the original From moves to `Reply-To:`; the spool keeps the bytes
 * as received and only the outgoing stream changes. `reject` is applied by the
 * listener, with the helpers here saying who may send through a server.
 */
import type { Readable } from 'node:stream';
import addressparser from 'nodemailer/lib/addressparser';
import type { EmailServer } from '../store/servers.js';
import { rewriteHeaders } from './header-block.js';

/** What `rewrite` needs: the mailbox to send as, and the senders that stay as they are. */
export interface SenderRewrite {
  mailbox: string;
  /** Lower-cased addresses the mailbox may send as (itself included); a From naming only these is kept. */
  allowed: readonly string[];
}

/** The envelope sender and message bytes to hand to the upstream. */
export interface OutgoingMessage {
  from: string;
  /** Opens a fresh stream of the bytes on each call (delivery may call it twice for the auth retry). */
  raw: () => Readable;
}

type SenderSettings = Pick<EmailServer, 'mailbox' | 'authorizedAccount' | 'sendAs'>;

/**
 * Only this much of a message is buffered to find the end of its header block
 * (as the spool's header sniffer); a longer header block goes out unchanged.
 */
const HEADER_BLOCK_LIMIT = 64 * 1024;

/** The mailbox plus the server's Send As Addresses, lower-cased, without duplicates. */
export function allowedSenders(server: SenderSettings): string[] {
  const mailbox = server.mailbox ?? server.authorizedAccount;
  return [...new Set([...(mailbox ? [mailbox] : []), ...server.sendAs].map((address) => address.toLowerCase()))];
}

/** Whether the server's mailbox may send as `address` (case-insensitive). */
export function maySendAs(server: SenderSettings, address: string): boolean {
  return allowedSenders(server).includes(address.trim().toLowerCase());
}

/** The text of the listener's `550 5.7.1` for a sender `reject` refuses, naming whom to send as. */
export function senderRefusal(server: SenderSettings & Pick<EmailServer, 'name'>, address: string): string {
  const shown = address.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256);
  const allowed = allowedSenders(server);
  const advice =
    allowed.length === 0
      ? 'no sender is allowed until Mailbox or Send As Addresses are set'
      : `send as ${allowed.length === 1 ? allowed[0] : `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`}`;
  return `Sender <${shown}> is not allowed through ${server.name}: ${advice}`;
}

interface Mailbox {
  address: string;
  /** The display name as addressparser reads it (unquoted; encoded words left encoded), or ''. */
  name: string;
}

/** The mailboxes of an address-list header value, groups flattened (nodemailer's RFC 5322 parser). */
function parseMailboxList(value: string): Mailbox[] {
  return addressparser(value.replace(/\r?\n(?=[ \t])/g, ''), { flatten: true }).map((m) => ({ address: m.address, name: m.name }));
}

/** All addresses of a `From:` header value, as written. */
export function headerFromAddresses(value: string): string[] {
  return parseMailboxList(value)
    .map((mailbox) => mailbox.address)
    .filter(Boolean);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
const ENCODED_WORDS_ONLY = /^=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(?:\s+=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*$/;

/** Decodes RFC 2047 encoded words, to see what a reader would see. */
function decodeEncodedWords(text: string): string {
  return text.replace(ENCODED_WORD, (_word, charset: string, encoding: string, data: string) => {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : Buffer.from(
            data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_hex, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          );
    try {
      return new TextDecoder(charset.split('*')[0]).decode(bytes);
    } catch {
      return bytes.toString('latin1');
    }
  });
}

/**
 * The display name worth keeping in front of the mailbox, ready for the
 * header (encoded words as they were, anything else as a quoted string), or
 * null: empty names and names that read like an address (also once decoded,
 * full-width `＠` included) are dropped, so no one is misled about who sent
 * the mail.
 */
function keptDisplayName(name: string): string | null {
  const seen = decodeEncodedWords(Buffer.from(name, 'latin1').toString('utf8'));
  if (/[@\uFF20\uFE6B]/u.test(seen) || seen.trim() === '') return null;
  if (ENCODED_WORDS_ONLY.test(name)) return name;
  return `"${name.replace(/["\\]/g, '\\$&')}"`;
}

interface HeaderField {
  /** Lower-cased field name; '' for a line that is no field. */
  name: string;
  /** The whole field with its continuation lines and line endings. */
  raw: string;
}

/**
 * The fields of a header block cut along their bytes, continuation lines (RFC 5322 §2.2.3) with
 * their field. The rewrite splices these bytes itself: mailsplit's Headers, which reads header
 * blocks everywhere else (header-block.ts), rebuilds every line with one line ending once a field
 * changes, and the bytes of every other field must go out as received.
 */
function splitFields(block: string): HeaderField[] {
  // Named as mailsplit names them, so the rewrite replaces exactly the From fields the listener checked.
  const fieldName = (line: string): string => {
    const colon = line.indexOf(':');
    return colon < 0 ? '' : line.slice(0, colon).trim().toLowerCase();
  };
  const fields: HeaderField[] = [];
  for (let i = 0; i < block.length;) {
    const nl = block.indexOf('\n', i);
    const end = nl < 0 ? block.length : nl + 1;
    const line = block.slice(i, end);
    const last = fields[fields.length - 1];
    if (last && /^[ \t]/.test(line)) last.raw += line;
    else fields.push({ name: fieldName(line), raw: line });
    i = end;
  }
  return fields;
}

const lineEnding = (raw: string): string => /\r?\n$/.exec(raw)?.[0] ?? '';
const nameOf = (field: HeaderField): string => field.raw.slice(0, field.raw.indexOf(':') + 1);
const valueOf = (field: HeaderField): string =>
  field.raw.slice(field.raw.indexOf(':') + 1, field.raw.length - lineEnding(field.raw).length);

/**
 * Rewrites a header block (the bytes before the empty line, relay365's
 * `Received:` included) so that `From:` names the mailbox. The first From
 * field is replaced in place, keeping its name as written and a display name
 * when there is exactly one sender; later From fields are dropped. The
 * original From value, byte for byte, becomes `Reply-To:` when the message has
 * none. Without a From field, `From: mailbox` is added: Exchange checks Send As
 * on the From header and refuses a message without one. A From naming only
 * allowed senders, and every other byte, stay as they are.
 */
export function rewriteHeaderBlock(block: Buffer, rewrite: SenderRewrite): Buffer {
  const fields = splitFields(block.toString('latin1'));
  const mailbox = Buffer.from(rewrite.mailbox, 'utf8').toString('latin1');
  const allowed = new Set([mailbox, ...rewrite.allowed].map((address) => address.toLowerCase()));
  const from = fields.find((field) => field.name === 'from');
  const senders = from ? parseMailboxList(valueOf(from)) : [];
  const fromCount = fields.filter((field) => field.name === 'from').length;
  if (fromCount === 1 && senders.length > 0 && senders.every((s) => allowed.has(s.address.toLowerCase()))) return block;

  const eol =
    (from && lineEnding(from.raw)) ||
    fields
      .map((field) => lineEnding(field.raw))
      .filter(Boolean)
      .pop() ||
    '\r\n';
  const name = senders.length === 1 ? keptDisplayName(senders[0]?.name ?? '') : null;
  const newFrom = `${from ? nameOf(from) : 'From:'} ${name ? `${name} <${mailbox}>` : mailbox}${eol}`;
  const replyable = senders.some((s) => s.address.includes('@') && s.address.toLowerCase() !== mailbox.toLowerCase());
  const keepsReplyTo = fields.some((field) => field.name === 'reply-to');
  const replyTo = from && replyable && !keepsReplyTo ? `Reply-To:${valueOf(from)}${eol}` : '';

  const out: string[] = [];
  for (const field of fields) {
    if (field === from) out.push(newFrom, replyTo);
    else if (field.name !== 'from') out.push(field.raw);
  }
  if (!from) {
    const last = out[out.length - 1];
    if (last !== undefined && !last.endsWith('\n')) out.push(eol);
    out.push(newFrom);
  }
  return Buffer.from(out.join(''), 'latin1');
}

/** Wraps a spooled message so its header block comes out rewritten; only the header block is buffered. */
export function rewriteMessage(source: Readable, rewrite: SenderRewrite): Readable {
  // A header block too long to read goes as it is.
  return rewriteHeaders(source, {
    limit: HEADER_BLOCK_LIMIT,
    rewrite: (block) => rewriteHeaderBlock(block, rewrite),
    tooLong: (head) => head,
  });
}

/**
 * Applies the server's `From Address Handling` at delivery: with `rewrite` and
 * a known mailbox, the envelope sender becomes the mailbox (a null sender `<>`
 * stays null, RFC 5321 §4.5.5, so bounces cannot loop) and the bytes are
 * rewritten on the way out; otherwise the message goes as it was received.
 */
export function applySenderPolicy(
  server: SenderSettings & Pick<EmailServer, 'fromHandling'>,
  mailFrom: string,
  open: () => Readable,
): OutgoingMessage {
  const mailbox = server.mailbox ?? server.authorizedAccount;
  if (server.fromHandling !== 'rewrite' || !mailbox) return { from: mailFrom, raw: open };
  const rewrite: SenderRewrite = { mailbox, allowed: allowedSenders(server) };
  return { from: mailFrom === '' ? '' : mailbox, raw: () => rewriteMessage(open(), rewrite) };
}
