/**
 * The spool: the bytes of each accepted message (our Received: header, then
 * exactly the client's message), stored in the database in chunks of about
 * 256 KiB as DATA streams (src/store/bodies.ts), so memory stays bounded. The
 * last chunk is not stored here: the committer records it in the same
 * transaction as the queue record, then syncs the database's write-ahead log
 * before the 250 (src/relay/committer.ts). A message that cannot be kept (over
 * the size limit, or a write failed) has its chunks deleted at once, not at
 * the end of DATA; chunks a crash leaves without a record go at start-up.
 */
import { Readable } from 'node:stream';
import type { Async } from '../store/async.js';
import type { BodyChunk, BodyRepo } from '../store/bodies.js';
import type { NewMessage } from '../store/queue.js';
import { headerEndFinder, headerFields } from './header-block.js';

/** Headers we keep for the log; the sniffer looks at most this far into a message. */
const HEADER_SNIFF_LIMIT = 64 * 1024;

/** The bytes of one stored chunk (the last may be smaller, and a chunk may pass this by one network read). */
export const CHUNK_BYTES = 256 * 1024;

export interface MessageHeaders {
  subject: string | null;
  messageId: string | null;
  /** Every From field's value, in order: a message may (wrongly) carry several. */
  from: string[];
}

export interface SpooledMessage {
  id: string;
  /** Bytes of the client's message, without our Received: header. */
  size: number;
  headers: MessageHeaders;
  /** The body's last chunk, which the committer records with the queue record. */
  last: BodyChunk;
}

/** What the listener knows of a message before its bytes: the queue record without what the bytes tell. */
export type SpoolEnvelope = Omit<NewMessage, 'size' | 'subject' | 'headerMessageId' | 'status'>;

/** The queue record of a spooled message. */
export function queueRecord(envelope: SpoolEnvelope, message: Pick<SpooledMessage, 'size' | 'headers'>): NewMessage {
  return { ...envelope, size: message.size, subject: message.headers.subject, headerMessageId: message.headers.messageId };
}

/** The message grew past the size limit; nothing of it was kept. */
export class MessageTooBigError extends Error {
  constructor(readonly limit: number) {
    super(`message exceeds ${limit} bytes`);
    this.name = 'MessageTooBigError';
  }
}

export interface Spool {
  /**
   * Streams `prefix` and `body` into the store in chunks; memory stays bounded. Once the body
   * passes `maxBytes` (MessageTooBigError) or a write fails, the stored chunks are deleted and
   * the rest of the body is read and dropped, so the client is answered after its final dot; the
   * error is thrown then. A body that fails (client gone) throws at once. `vet` sees the headers
   * before the last chunk is handed back; what it throws deletes the chunks and is thrown.
   */
  write(id: string, prefix: Buffer, body: Readable, maxBytes?: number, vet?: (headers: MessageHeaders) => void): Promise<SpooledMessage>;
  /** The bytes to forward: our Received: header and the client's message, a chunk at a time. */
  read(id: string): Readable;
  /** The first `bytes` of what `read` gives (or all of it when shorter). */
  head(id: string, bytes: number): Promise<Buffer>;
  /** Deletes a message's bytes (refused, delivered, failed or deleted). */
  remove(id: string): Promise<void>;
}

/** The store's bodies as the spool uses them. */
export type SpoolBodies = Pick<Async<BodyRepo>, 'append' | 'chunk' | 'remove'>;

/** What the log keeps of a header block: Subject, Message-ID and every From (also spelt `From :`, RFC 5322 obs-syntax). */
function messageHeaders(block: Buffer): MessageHeaders {
  const fields = headerFields(block);
  return { subject: fields.all('subject')[0] || null, messageId: fields.all('message-id')[0] || null, from: fields.all('from') };
}

/** The headers in `head`, the start of a message: its header block, or all of it when no empty line ends one there. */
export function headersIn(head: Buffer): MessageHeaders {
  const end = headerEndFinder()(head);
  return messageHeaders(end >= 0 ? head.subarray(0, end) : head);
}

/**
 * Holds the start of a message as it arrives until its header block is complete (or the sniff
 * limit is reached), then reads it; the common message arrives with its headers in one chunk.
 */
function headerSniffer(): { push(chunk: Buffer): MessageHeaders | null; end(): MessageHeaders } {
  const findEnd = headerEndFinder();
  const held: Buffer[] = [];
  let heldBytes = 0;
  const head = (): Buffer => (held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, heldBytes));
  return {
    push(chunk) {
      const end = findEnd(chunk);
      held.push(chunk);
      heldBytes += chunk.length;
      if (end >= 0) return messageHeaders(head().subarray(0, end));
      return heldBytes >= HEADER_SNIFF_LIMIT ? messageHeaders(head()) : null;
    },
    // The message ended inside its header block: all of it is headers.
    end: () => messageHeaders(head()),
  };
}

/** A message's chunks in order, read one point lookup at a time. */
async function* chunksOf(bodies: Pick<SpoolBodies, 'chunk'>, id: string): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const chunk = await bodies.chunk(id, seq);
    if (chunk === undefined) {
      if (seq === 0) throw new Error(`message ${id} has no stored body`);
      return;
    }
    yield chunk;
  }
}

/** Creates the spool over the store's bodies (a test may wrap them with failing writes). */
export function createSpool(bodies: SpoolBodies): Spool {
  return {
    async write(id, prefix, body, maxBytes = Infinity, vet = () => undefined) {
      let size = 0;
      let seq = 0;
      let sniffer: ReturnType<typeof headerSniffer> | null = headerSniffer();
      let headers: MessageHeaders = { subject: null, messageId: null, from: [] };
      // Set once the message cannot be kept; the body is still read to its end.
      let refusal: Error | null = null;
      let batch: Buffer[] = [prefix];
      let batchBytes = prefix.length;
      const discard = async (): Promise<void> => {
        batch = [];
        if (seq > 0) await bodies.remove(id);
      };
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (refusal !== null) continue;
          try {
            if (size > maxBytes) throw new MessageTooBigError(maxBytes);
            if (sniffer !== null) {
              const sniffed = sniffer.push(chunk);
              if (sniffed !== null) {
                headers = sniffed;
                sniffer = null;
              }
            }
            batch.push(chunk);
            batchBytes += chunk.length;
            if (batchBytes >= CHUNK_BYTES) {
              await bodies.append({ messageId: id, seq, bytes: Buffer.concat(batch, batchBytes) });
              seq++;
              batch = [];
              batchBytes = 0;
            }
          } catch (err) {
            refusal = err instanceof Error ? err : new Error(String(err));
            await discard();
          }
        }
        if (refusal === null) {
          if (sniffer !== null) headers = sniffer.end();
          vet(headers);
        }
      } catch (err) {
        // The body failed (the client went away), `vet` refused it, or deleting the chunks failed.
        if (refusal === null) await discard();
        throw err;
      }
      if (refusal !== null) throw refusal;
      return { id, size, headers, last: { messageId: id, seq, bytes: Buffer.concat(batch, batchBytes) } };
    },
    read: (id) => Readable.from(chunksOf(bodies, id), { objectMode: false }),
    async head(id, bytes) {
      const held: Buffer[] = [];
      let heldBytes = 0;
      for await (const chunk of chunksOf(bodies, id)) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes >= bytes) break;
      }
      return Buffer.concat(held, heldBytes).subarray(0, bytes);
    },
    remove: (id) => bodies.remove(id),
  };
}
