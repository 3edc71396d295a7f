/**
 * Enough MIME reading for the Graph emulator to record what Exchange would make of
 * a MIME message: the From, To, Cc and Bcc addresses, the subject (RFC 2047), the
 * body (HTML preferred, else plain text) and the attachments with their names
 * (RFC 2231), types and decoded bytes, through nested multiparts. Not a validator:
 * malformed input yields what can be read.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { parseHeaderValue } from 'nodemailer/lib/mime-funcs';
import type { GraphAttachment } from './graph-types.js';
import { headerFields } from './message-headers.js';

/** What a MIME message says, as recorded. */
export interface MimeSummary {
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  /** Address-list entries without a usable address (Graph: ErrorInvalidRecipients). */
  invalidRecipients: string[];
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  attachments: GraphAttachment[];
}

interface Entity {
  fields: Array<{ name: string; value: string }>;
  body: Buffer;
}

interface Leaf {
  contentType: string;
  charset: string;
  disposition: string;
  name?: string;
  contentId?: string;
  bytes: Buffer;
}

/** Reads `raw` into a {@link MimeSummary}. */
export function readMime(raw: Buffer): MimeSummary {
  const top = splitEntity(raw);
  const field = (name: string): string => top.fields.find((f) => f.name === name)?.value ?? '';
  const invalidRecipients: string[] = [];
  const list = (name: string): string[] => addresses(field(name), invalidRecipients);
  const leaves = collectLeaves(top);
  const isAttachment = (leaf: Leaf): boolean =>
    leaf.disposition === 'attachment' ||
    (leaf.name !== undefined && !leaf.contentType.startsWith('text/')) ||
    leaf.contentType === 'message/rfc822';
  const texts = leaves.filter((leaf) => !isAttachment(leaf));
  const html = texts.find((leaf) => leaf.contentType === 'text/html');
  const plain = texts.find((leaf) => leaf.contentType === 'text/plain' || leaf.contentType === '');
  const bodyLeaf = html ?? plain;
  return {
    from: addresses(field('from'), [])[0],
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    invalidRecipients,
    subject: decodeWords(field('subject')),
    body: { contentType: html ? 'html' : 'text', content: bodyLeaf ? decodeText(bodyLeaf.bytes, bodyLeaf.charset) : '' },
    attachments: leaves.filter(isAttachment).map((leaf) => ({
      name: leaf.name ?? (leaf.contentType === 'message/rfc822' ? 'message.eml' : 'attachment'),
      contentType: leaf.contentType || 'application/octet-stream',
      bytes: leaf.bytes,
      isInline: leaf.disposition === 'inline',
      ...(leaf.contentId !== undefined ? { contentId: leaf.contentId } : {}),
    })),
  };
}

/** Decodes RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`). */
export function decodeWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  return value.replace(
    /=\?([^?*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=(\s+(?==\?))?/g,
    (_match, charset: string, encoding: string, text: string) => {
      const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
      return decodeText(bytes, charset);
    },
  );
}

function addresses(value: string, invalid: string[]): string[] {
  if (!value.trim()) return [];
  const found: string[] = [];
  for (const entry of addressparser(value, { flatten: true })) {
    const address = (entry.address ?? '').trim().toLowerCase();
    if (/^[^@\s]+@[^@\s]+$/.test(address)) found.push(address);
    else invalid.push(entry.address || entry.name);
  }
  return found;
}

function splitEntity(raw: Buffer): Entity {
  const text = raw.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  const end = match ? match.index + match[0].length : raw.length;
  return { fields: headerFields(raw.subarray(0, end)), body: raw.subarray(end) };
}

function collectLeaves(entity: Entity, depth = 0): Leaf[] {
  const field = (name: string): string => entity.fields.find((f) => f.name === name)?.value ?? '';
  const type = parseHeaderValue(field('content-type'));
  const contentType = type.value.toLowerCase();
  const boundary = type.params['boundary'];
  if (contentType.startsWith('multipart/') && boundary && depth < 20) {
    return splitMultipart(entity.body, boundary).flatMap((part) => collectLeaves(splitEntity(part), depth + 1));
  }
  const disposition = parseHeaderValue(field('content-disposition'));
  const name = disposition.params['filename'] ?? type.params['name'];
  const contentId = field('content-id').replace(/^<|>$/g, '') || undefined;
  return [
    {
      contentType,
      charset: type.params['charset'] ?? 'utf-8',
      disposition: disposition.value.toLowerCase(),
      ...(name !== undefined ? { name: decodeWords(name) } : {}),
      ...(contentId !== undefined ? { contentId } : {}),
      bytes: decodeTransfer(entity.body, field('content-transfer-encoding').toLowerCase()),
    },
  ];
}

/** The parts between `--boundary` lines, up to `--boundary--`. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
  const parts: Buffer[] = [];
  let start: number | undefined;
  for (let match = delimiter.exec(text); match; match = delimiter.exec(text)) {
    if (start !== undefined) parts.push(body.subarray(start, match.index));
    if (match[1] === '--') return parts;
    start = match.index + match[0].length;
  }
  if (start !== undefined) parts.push(body.subarray(start));
  return parts;
}

function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body.toString('latin1'));
  return body;
}

function decodeQuotedPrintable(text: string): Buffer {
  const unfolded = text.replace(/=\r?\n/g, '');
  return Buffer.from(
    unfolded.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
}

function decodeText(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset.trim().toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}
