/**
 * A MIME message read into Microsoft Graph's JSON message resource, for the
 * messages that cannot go as MIME in one request: subject, body (the HTML
 * part, else the text part), To/Cc/Bcc (as the header rewrite left them),
 * From, Reply-To, importance and up to five `x-` headers, and its attachments
 * with their names, types and sizes. It reads the message twice with
 * mailsplit's Splitter instead of keeping it: once for this outline, once
 * more to hand each attachment's decoded bytes to a writer (an upload), so
 * memory stays bounded whatever the size.
 */
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Splitter, type MimeNode, type SplitterChunk } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';
import { headerFields, type HeaderFields } from '../header-block.js';
import { unsendable } from './graph-client.js';

/** A recipient in Graph's JSON. */
export interface GraphRecipient {
  emailAddress: { address: string; name?: string };
}

/** Graph's message resource, as relay365 fills it. */
export interface GraphMessage {
  subject: string;
  body: { contentType: 'html' | 'text'; content: string };
  toRecipients: GraphRecipient[];
  ccRecipients: GraphRecipient[];
  bccRecipients: GraphRecipient[];
  from?: GraphRecipient;
  replyTo: GraphRecipient[];
  importance?: 'low' | 'normal' | 'high';
  internetMessageHeaders?: { name: string; value: string }[];
}

/** An attachment of the message, as createUploadSession and fileAttachment name it. */
export interface AttachmentInfo {
  /** Its place among the message's leaf parts: the same on every read. */
  leaf: number;
  name: string;
  contentType: string;
  /** Decoded bytes. */
  size: number;
  isInline: boolean;
  contentId?: string;
}

export interface MessageOutline {
  message: GraphMessage;
  attachments: AttachmentInfo[];
}

/**
 * Text parts are kept in memory up to this size to become the body; Graph takes the body in the
 * draft's one request (4 MB), so a longer one cannot go anyway.
 */
export const BODY_TEXT_LIMIT = 3_800_000;
/** Graph takes at most five custom headers per message (InvalidInternetMessageHeaderCollection). */
const MAX_CUSTOM_HEADERS = 5;

/** One leaf part as the first read saw it. */
interface Leaf {
  index: number;
  contentType: string;
  charset: string;
  flowed: boolean;
  delSp: boolean;
  disposition: string;
  filename: string;
  contentId: string;
  /** The multipart/alternative parts it is inside: a text part there is one rendering of the body. */
  alternatives: number[];
  size: number;
  /** The decoded bytes of a text part that may be the body, unless over the limit. */
  text: Buffer | null;
}

/**
 * Walks the leaf parts of the message from `source`: `visit` sees each leaf part's node and may
 * return a writer for its decoded bytes (awaited to the end before the next part). Resolves with
 * the message's own header block. A message the parser refuses (too many parts, a header block
 * too large) cannot be sent via Graph.
 */
async function walkLeaves(source: Readable, visit: (node: MimeNode, index: number) => Promise<Writable | null>): Promise<Buffer> {
  const splitter = new Splitter({ ignoreEmbedded: true });
  let top: Buffer = Buffer.alloc(0);
  let sourceFailed = false;
  source.once('error', (err) => {
    sourceFailed = true;
    splitter.destroy(err);
  });
  let current: { decoder: NodeJS.WritableStream & Readable; done: Promise<void> } | null = null;
  let leaves = 0;
  const finish = async (): Promise<void> => {
    if (!current) return;
    const { decoder, done } = current;
    current = null;
    decoder.end();
    await done;
  };
  try {
    for await (const data of source.pipe(splitter) as AsyncIterable<SplitterChunk>) {
      if (data.type === 'node') {
        await finish();
        if (data.root) top = data.getHeaders();
        if (data.multipart) continue;
        const sink = await visit(data, leaves++);
        if (sink) {
          const decoder = data.getDecoder() as NodeJS.WritableStream & Readable;
          current = { decoder, done: pipeline(decoder, sink) };
        }
      } else if (data.type === 'body' && current) {
        const { decoder, done } = current;
        if (!decoder.write(data.value)) await Promise.race([once(decoder, 'drain'), done]);
      }
    }
    await finish();
    return top;
  } catch (err) {
    if (sourceFailed || (err as { name?: string }).name === 'DeliveryError') throw err;
    throw unsendable('MessageUnreadable', `the message cannot be read as MIME: ${(err as Error).message}`);
  }
}

/** A writer that counts bytes and keeps them up to `keep` bytes (null once over). */
function collector(keep: number): { sink: Writable; size: () => number; bytes: () => Buffer | null } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size <= keep) chunks.push(chunk);
      callback();
    },
  });
  return { sink, size: () => size, bytes: () => (size <= keep ? Buffer.concat(chunks) : null) };
}

function ancestorsOf(node: MimeNode, ids: Map<MimeNode, number>): number[] {
  const out: number[] = [];
  for (let parent = node.parentNode; parent; parent = parent.parentNode) {
    if (parent.multipart !== 'alternative') continue;
    if (!ids.has(parent)) ids.set(parent, ids.size);
    out.push(ids.get(parent) as number);
  }
  return out;
}

/** A part that may be the body: text, not an attachment, no file name. */
const isBodyCandidate = (leaf: Leaf): boolean =>
  (leaf.contentType === 'text/plain' || leaf.contentType === 'text/html') && leaf.disposition !== 'attachment' && !leaf.filename;

/** Text in its charset, as a reader would see it. */
function decodeText(bytes: Buffer, leaf: Leaf): string {
  let text: string;
  try {
    text = new TextDecoder(leaf.charset || 'utf-8').decode(bytes);
  } catch {
    text = bytes.toString('utf8');
  }
  return leaf.flowed ? libmime.decodeFlowed(text, leaf.delSp) : text;
}

/** The mailboxes of address fields, decoded, each address once (not in `skip`). */
function recipients(values: string[], skip: Set<string>): GraphRecipient[] {
  const out: GraphRecipient[] = [];
  for (const value of values) {
    for (const { name, address } of addressparser(value, { flatten: true })) {
      const key = address.trim().toLowerCase();
      if (!address.includes('@') || skip.has(key)) continue;
      skip.add(key);
      const shown = libmime.decodeWords(name).trim();
      out.push({ emailAddress: { address: address.trim(), ...(shown ? { name: shown } : {}) } });
    }
  }
  return out;
}

function importanceOf(fields: HeaderFields): GraphMessage['importance'] {
  const importance = fields.all('importance')[0]?.toLowerCase();
  if (importance === 'high' || importance === 'low' || importance === 'normal') return importance;
  const priority = Number(/^\s*(\d)/.exec(fields.all('x-priority')[0] ?? '')?.[1]);
  if (priority === 1 || priority === 2) return 'high';
  if (priority === 4 || priority === 5) return 'low';
  return undefined;
}

/** The message's own `x-` headers Graph may carry (not Exchange's, which it sets itself). */
function customHeaders(block: Buffer): { name: string; value: string }[] {
  const names = new Map<string, string>();
  for (const line of block.toString('latin1').split(/\r?\n/)) {
    const name = /^([Xx]-[!-9;-~]+)[ \t]*:/.exec(line)?.[1];
    if (name && !/^x-(ms|microsoft)-/i.test(name) && !names.has(name.toLowerCase())) names.set(name.toLowerCase(), name);
  }
  const fields = headerFields(block);
  return [...names.values()].slice(0, MAX_CUSTOM_HEADERS).map((name) => ({ name, value: libmime.decodeWords(fields.all(name)[0] ?? '') }));
}

/** The message resource from the top-level header block (its recipients already rewritten). */
function messageHeaders(block: Buffer): Omit<GraphMessage, 'body'> {
  const fields = headerFields(block);
  const seen = new Set<string>();
  const to = recipients(fields.all('to'), seen);
  const cc = recipients(fields.all('cc'), seen);
  const bcc = recipients(fields.all('bcc'), seen);
  const [from] = recipients(fields.all('from'), new Set());
  const importance = importanceOf(fields);
  const headers = customHeaders(block);
  return {
    subject: libmime.decodeWords(fields.all('subject')[0] ?? ''),
    toRecipients: to,
    ccRecipients: cc,
    bccRecipients: bcc,
    ...(from ? { from } : {}),
    replyTo: recipients(fields.all('reply-to'), new Set()),
    ...(importance ? { importance } : {}),
    ...(headers.length > 0 ? { internetMessageHeaders: headers } : {}),
  };
}

function attachmentName(leaf: Leaf, position: number): string {
  if (leaf.filename) return leaf.filename;
  if (leaf.contentType === 'message/rfc822') return `message-${position}.eml`;
  return `attachment-${position}.${libmime.detectExtension(leaf.contentType || 'application/octet-stream')}`;
}

/**
 * Reads the message from `open()` into Graph's message resource and the list of its
 * attachments; their bytes come with a second read (`readAttachments`).
 */
export async function readOutline(open: () => Readable): Promise<MessageOutline> {
  const leaves: Leaf[] = [];
  const alternatives = new Map<MimeNode, number>();
  let textBudget = 2 * BODY_TEXT_LIMIT;
  const top = await walkLeaves(open(), async (node, index) => {
    const headers = node.headers;
    const leaf: Leaf = {
      index,
      contentType: node.contentType || 'text/plain',
      charset: node.charset || '',
      flowed: node.flowed,
      delSp: node.delSp,
      disposition: node.disposition || '',
      filename: node.filename || '',
      contentId: headers ? headers.getFirst('content-id').replace(/^<|>$/g, '') : '',
      alternatives: ancestorsOf(node, alternatives),
      size: 0,
      text: null,
    };
    leaves.push(leaf);
    const keep = isBodyCandidate(leaf) ? Math.min(BODY_TEXT_LIMIT, textBudget) : 0;
    const count = collector(keep);
    count.sink.once('finish', () => {
      leaf.size = count.size();
      leaf.text = keep > 0 ? count.bytes() : null;
      if (leaf.text) textBudget -= leaf.text.length;
    });
    return count.sink;
  });
  const body = leaves
    .filter(isBodyCandidate)
    .sort((a, b) => Number(b.contentType === 'text/html') - Number(a.contentType === 'text/html'))[0];
  if (body && body.text === null) {
    throw unsendable(
      'BodyTooLarge',
      `the message text is ${body.size} bytes; Microsoft Graph takes a message's text in one request of at most 4 MB`,
    );
  }
  // The other renderings of the body (its multipart/alternative siblings) are not attachments.
  const rendering = (leaf: Leaf): boolean =>
    isBodyCandidate(leaf) && body !== undefined && leaf.alternatives.some((id) => body.alternatives.includes(id));
  const attached = leaves.filter((leaf) => leaf !== body && !rendering(leaf));
  const message: GraphMessage = {
    ...messageHeaders(top),
    body: body
      ? { contentType: body.contentType === 'text/html' ? 'html' : 'text', content: decodeText(body.text as Buffer, body) }
      : { contentType: 'text', content: '' },
  };
  const attachments = attached.map((leaf, position) => ({
    leaf: leaf.index,
    name: attachmentName(leaf, position + 1),
    contentType: leaf.contentType || 'application/octet-stream',
    size: leaf.size,
    // An image the HTML shows by its Content-ID (cid:) is inline unless marked an attachment.
    isInline: leaf.contentId !== '' && leaf.disposition !== 'attachment',
    ...(leaf.contentId ? { contentId: leaf.contentId } : {}),
  }));
  return { message, attachments };
}

/**
 * Reads the message from `open()` again and hands the decoded bytes of each attachment to the
 * writer `writerFor` returns for it (awaited to the end, one at a time).
 */
export async function readAttachments(
  open: () => Readable,
  attachments: readonly AttachmentInfo[],
  writerFor: (attachment: AttachmentInfo) => Promise<Writable>,
): Promise<void> {
  const byLeaf = new Map(attachments.map((a) => [a.leaf, a]));
  await walkLeaves(open(), async (_node, index) => {
    const attachment = byLeaf.get(index);
    return attachment ? writerFor(attachment) : null;
  });
}
