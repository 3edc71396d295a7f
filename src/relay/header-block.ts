/**
 * A message's header block (RFC 5322 §2.2): where it ends while the message
 * arrives in chunks, and its fields as mailsplit's `Headers` parses them, each
 * value unfolded by libmime, and a message streamed with its header block
 * rewritten. The spool's sniff, the sender policy's rewrite, Graph's recipients,
 * the notices and the bounce checks all find and read header blocks here.
 */
import { Readable } from 'node:stream';
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds where a message's header block ends across chunks: fed each chunk in turn, it answers the
 * offset in the whole message of the empty line's first byte once it has seen it, else -1. The block
 * ends at the first empty line, written CRLF or LF.
 */
export function headerEndFinder(): (chunk: Buffer) => number {
  let offset = 0;
  let atLineStart = true;
  let crAt = -1;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF) {
        if (atLineStart) return offset + i;
        if (crAt >= 0) return crAt;
        atLineStart = true;
      } else if (byte === CR && atLineStart) {
        atLineStart = false;
        crAt = offset + i;
      } else {
        // Inside a line only its LF matters: skip there natively rather than byte by byte.
        atLineStart = false;
        crAt = -1;
        const next = chunk.indexOf(LF, i + 1);
        if (next < 0) break;
        i = next - 1;
      }
    }
    offset += chunk.length;
    return -1;
  };
}

/**
 * The header block at the start of `head` (the first bytes of a message), its last line end
 * included: up to the empty line, else up to the last whole line in `head`, else all of `head`.
 */
export function leadingHeaderBlock(head: Buffer): Buffer {
  const end = headerEndFinder()(head);
  const cut = end >= 0 ? end : head.lastIndexOf(LF) + 1;
  return head.subarray(0, cut > 0 ? cut : head.length);
}

/** Reads a header block's fields by name, any case (`From :` too, RFC 5322 obs-syntax). */
export interface HeaderFields {
  /** Every value of the field, unfolded and trimmed (encoded words stay encoded), in order; empty ones too. */
  all(name: string): string[];
}

/** The fields of a header block. */
export function headerFields(block: Buffer): HeaderFields {
  const headers = new Headers(block);
  // mailsplit takes a first line `From …` for an mbox preamble (known once parsed); `From :` is a field.
  headers.getList();
  if (headers.mbox !== false && /^From[ \t]*:/i.test(headers.mbox)) headers.addFormatted('from', headers.mbox, 0);
  return { all: (name) => headers.get(name).map((line) => libmime.decodeHeader(line).value) };
}

/** What rewriteHeaders does with a message: the new header block, and what goes instead of one over the limit. */
export interface HeaderRewrite {
  /** Most bytes buffered to find the header block's end. */
  limit: number;
  /** The header block (up to the empty line, or the whole message when it is all headers) to send instead. */
  rewrite(block: Buffer): Buffer;
  /** What to send instead of the first `limit` and more bytes when the header block does not end within them; may throw. */
  tooLong(head: Buffer): Buffer;
}

async function* rewrittenChunks(source: AsyncIterable<Buffer>, { limit, rewrite, tooLong }: HeaderRewrite): AsyncGenerator<Buffer> {
  const findEnd = headerEndFinder();
  let held: Buffer[] = [];
  let heldBytes = 0;
  let passing = false;
  for await (const chunk of source) {
    if (passing) {
      yield chunk;
      continue;
    }
    const end = findEnd(chunk);
    held.push(chunk);
    heldBytes += chunk.length;
    if (end < 0 && heldBytes <= limit) continue;
    const head = Buffer.concat(held);
    held = [];
    passing = true;
    if (end < 0 || end > limit) {
      yield tooLong(head);
      continue;
    }
    yield rewrite(head.subarray(0, end));
    if (end < head.length) yield head.subarray(end);
  }
  // A message that is all headers: no empty line, nothing after.
  if (!passing && heldBytes > 0) yield rewrite(Buffer.concat(held));
}

/** `source` with its header block rewritten; only the header block is buffered, the rest streams through. */
export function rewriteHeaders(source: Readable, how: HeaderRewrite): Readable {
  return Readable.from(rewrittenChunks(source, how), { objectMode: false });
}
