/**
 * The spool: one file per accepted message under `{dataDir}/spool`. A file
 * holds the message's envelope (who sent it to whom, through which route and
 * server), then exactly the bytes to forward: our Received: header and the
 * client's message. It is the durable record of an accepted message: it is
 * written as `{id}.tmp`, fsynced, and only then renamed to `{id}.eml`, so an
 * `.eml` file is always complete. The store's record may trail it: start-up
 * recovery rebuilds a missing record from the envelope (a power cut can undo
 * SQLite's last commits, see src/store/db.ts) and deletes `.tmp` files (their
 * client never got a 250). Nothing ever rewrites a file, and a message that
 * cannot be kept (over the size limit, or a write failed) is deleted at once,
 * not at the end of DATA.
 */
import { closeSync, fdatasync, fstatSync, fsync, mkdirSync, open, openSync, readdirSync, readSync, renameSync, writevSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { NewMessage } from '../store/queue.js';
import { headerEndFinder, headerFields } from './header-block.js';

/** Headers we keep for the log; the sniffer looks at most this far into a message. */
const HEADER_SNIFF_LIMIT = 64 * 1024;

export interface MessageHeaders {
  subject: string | null;
  messageId: string | null;
  /** Every From field's value, in order: a message may (wrongly) carry several. */
  from: string[];
}

export interface SpooledFile {
  id: string;
  /** Bytes of the client's message, without our Received: header. */
  size: number;
  headers: MessageHeaders;
}

/** What a spool file says of its message ahead of the bytes: the queue record without what the bytes tell. */
export type SpoolEnvelope = Omit<NewMessage, 'size' | 'subject' | 'headerMessageId' | 'status'>;

/**
 * A spool file starts with this tag, the envelope's length in 8 hex digits and the envelope as
 * JSON; the message bytes follow. Files written before envelopes existed start with the message.
 */
const ENVELOPE_TAG = 'R365ENV1';
const ENVELOPE_HEAD_BYTES = ENVELOPE_TAG.length + 8;

/** The envelope as it opens a spool file; `prefixBytes` lets recovery tell the client's bytes from ours. */
function encodeEnvelope(envelope: SpoolEnvelope, prefixBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify({ ...envelope, prefixBytes }), 'utf8');
  return Buffer.concat([Buffer.from(`${ENVELOPE_TAG}${json.length.toString(16).padStart(8, '0')}`, 'latin1'), json]);
}

/** Where the message bytes start in the open spool file `fd`. */
function messageStartIn(fd: number): number {
  const head = Buffer.alloc(ENVELOPE_HEAD_BYTES);
  return messageStart(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
}

/** A file's envelope and where its message bytes start (0, and no envelope, for older files). */
function readEnvelope(fd: number): { envelope: (SpoolEnvelope & { prefixBytes: number }) | null; start: number } {
  const start = messageStartIn(fd);
  if (start === 0) return { envelope: null, start };
  const json = Buffer.alloc(start - ENVELOPE_HEAD_BYTES);
  readSync(fd, json, 0, json.length, ENVELOPE_HEAD_BYTES);
  return { envelope: JSON.parse(json.toString('utf8')) as SpoolEnvelope & { prefixBytes: number }, start };
}

/** Where the message bytes start in a file that begins with `head` (0 for a file from before envelopes). */
function messageStart(head: Buffer): number {
  if (head.length < ENVELOPE_HEAD_BYTES || head.toString('latin1', 0, ENVELOPE_TAG.length) !== ENVELOPE_TAG) return 0;
  return ENVELOPE_HEAD_BYTES + Number.parseInt(head.toString('latin1', ENVELOPE_TAG.length, ENVELOPE_HEAD_BYTES), 16);
}

/** The message bytes of a spool file's contents, without its envelope (tests and tools). */
export function messageBytes(contents: Buffer): Buffer {
  return contents.subarray(messageStart(contents));
}

/** The queue record of a spooled message. */
export function queueRecord(envelope: SpoolEnvelope, file: SpooledFile): NewMessage {
  return { ...envelope, size: file.size, subject: file.headers.subject, headerMessageId: file.headers.messageId };
}

/** The file operations the spool needs; tests inject failing ones (a full disk, an I/O error). */
export interface SpoolFileHandle {
  writev(buffers: Buffer[]): Promise<unknown>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenSpoolFile = (path: string, flags: 'wx', mode: number) => Promise<SpoolFileHandle>;

/**
 * The spool's own file operations. Only creating the file and the fsync go to libuv's thread pool:
 * writing (into the page cache) and closing a spool file are system calls of a few microseconds, while
 * each trip through the pool costs a thread wake-up and a turn of the event loop, 80-120 µs of
 * the main thread each on a 2-vCPU machine busy with deliveries (measured with --cpu-prof).
 */
const openSpoolFile: OpenSpoolFile = async (file, flags, mode) => {
  // Creating a file can wait for the file system's journal: that waits in the pool, at DATA's start.
  const fd = await new Promise<number>((resolve, reject) =>
    open(file, flags, mode, (err, opened) => (err ? reject(err) : resolve(opened))),
  );
  let closed = false;
  return {
    async writev(buffers) {
      const expected = buffers.reduce((sum, b) => sum + b.length, 0);
      const written = writevSync(fd, buffers);
      // A regular file takes a whole write unless the disk is full; the next write would say so.
      if (written !== expected) throw new Error(`short write to the spool: ${written} of ${expected} bytes`);
    },
    datasync: () => new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    async close() {
      // Once only: the number of a closed descriptor is soon another file's.
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
};

/** How much of a message the delivery reads at a time. */
const READ_CHUNK_BYTES = 64 * 1024;

/** The message grew past the size limit; nothing of it was kept. */
export class MessageTooBigError extends Error {
  constructor(readonly limit: number) {
    super(`message exceeds ${limit} bytes`);
    this.name = 'MessageTooBigError';
  }
}

export interface Spool {
  /**
   * Streams the envelope, `prefix` and `body` into the message's file, fsyncs it and gives it its
   * final name; memory stays bounded. Once the body passes `maxBytes` (MessageTooBigError) or a
   * write fails, the file is deleted and the rest of the body is read and dropped, so the client
   * is answered after its final dot; the error is thrown then. A body that fails (client gone)
   * throws at once. `vet` sees the headers before the file is made durable; what it throws
   * deletes the file and is thrown (a refused message never becomes an .eml, even for a moment).
   */
  write(
    envelope: SpoolEnvelope,
    prefix: Buffer,
    body: Readable,
    maxBytes?: number,
    vet?: (headers: MessageHeaders) => void,
  ): Promise<SpooledFile>;
  /** Makes the new files' directory entries durable (one directory fsync for a batch). */
  syncDirectory(): Promise<void>;
  /** Deletes a message's file (refused, delivered, failed or deleted). */
  remove(id: string): Promise<void>;
  /** The bytes to forward: our Received: header and the client's message, without the envelope. */
  read(id: string): Readable;
  path(id: string): string;
  /** IDs of all complete files in the spool. */
  list(): string[];
  /** The queue record a file's envelope and bytes make; null for a file from before envelopes. */
  record(id: string): Promise<NewMessage | null>;
  /** Deletes the files of writes that never finished (a crash mid-DATA); returns how many. */
  removeUnfinished(): Promise<number>;
}

/** What the log keeps of a header block: Subject, Message-ID and every From (also spelt `From :`, RFC 5322 obs-syntax). */
function messageHeaders(block: Buffer): MessageHeaders {
  const fields = headerFields(block);
  return { subject: fields.all('subject')[0] || null, messageId: fields.all('message-id')[0] || null, from: fields.all('from') };
}

/** The headers in `head`, the start of a message: its header block, or all of it when no empty line ends one there. */
function headersIn(head: Buffer): MessageHeaders {
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

/** Bytes gathered before one write call: few syscalls for small messages, bounded memory for large ones. */
const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * A file's message bytes, skipping its envelope, read with small synchronous reads: a spool file
 * was written moments ago and is in the page cache (see openSpoolFile for why not the thread pool).
 */
function* messageChunks(file: string): Generator<Buffer> {
  const fd = openSync(file, 'r');
  try {
    let position = messageStartIn(fd);
    const { size } = fstatSync(fd);
    while (position < size) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, size - position));
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) return;
      position += read;
      yield chunk.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}

const UNFINISHED = '.tmp';

/**
 * Deletes a spool file in the thread pool; one already gone is fine. Unlike a write into the page
 * cache, an unlink waits for the file system's journal, which the accept path keeps busy with fsyncs:
 * done synchronously it stalled the event loop for up to milliseconds while a queue drained.
 */
async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Creates (if needed) the spool folders under `dir`; a test may inject the file operations (`open`). */
export function createSpool(dir: string, { open: openMessage = openSpoolFile }: { open?: OpenSpoolFile } = {}): Spool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const filePath = (id: string): string => path.join(dir, `${id}.eml`);

  return {
    async write(envelope, prefix, body, maxBytes = Infinity, vet = () => undefined) {
      const { id } = envelope;
      const unfinished = path.join(dir, `${id}${UNFINISHED}`);
      const file = await openMessage(unfinished, 'wx', 0o600);
      const discard = async (): Promise<void> => {
        await file.close().catch(() => undefined);
        await removeFile(unfinished);
      };
      let size = 0;
      let sniffer: ReturnType<typeof headerSniffer> | null = headerSniffer();
      let headers: MessageHeaders = { subject: null, messageId: null, from: [] };
      // Set once the message cannot be kept; the body is still read to its end.
      let refusal: Error | null = null;
      let batch: Buffer[] = [encodeEnvelope(envelope, prefix.length), prefix];
      let batchBytes = (batch[0] as Buffer).length + prefix.length;
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
            if (batchBytes >= WRITE_BATCH_BYTES) {
              await file.writev(batch);
              batch = [];
              batchBytes = 0;
            }
          } catch (err) {
            refusal = err instanceof Error ? err : new Error(String(err));
            batch = [];
            await discard();
          }
        }
        if (refusal === null) {
          if (sniffer !== null) headers = sniffer.end();
          vet(headers);
          if (batch.length > 0) await file.writev(batch);
          await file.datasync();
          await file.close();
          // Renamed once its bytes are on disk: an .eml file is never a part of a message. Done
          // synchronously: a rename takes microseconds, a trip through libuv's thread pool waits its
          // turn on an event loop that is busy with deliveries (see syncDirectory).
          renameSync(unfinished, filePath(id));
        }
      } catch (err) {
        // The body failed (the client went away), `vet` refused it, or the last write, fsync, close or rename failed.
        if (refusal === null) await discard();
        throw err;
      }
      if (refusal !== null) throw refusal;
      return { id, size, headers };
    },
    async syncDirectory() {
      // Cheap where the files' own fsyncs already committed the directory (ext4, XFS); required by POSIX.
      // Only the fsync goes to the thread pool: opening and closing the directory take microseconds,
      // and each trip through the pool adds a turn of the event loop to every waiting client's 250.
      const fd = openSync(dir, 'r');
      try {
        await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
      } finally {
        closeSync(fd);
      }
    },
    remove: (id) => removeFile(filePath(id)),
    read: (id) => Readable.from(messageChunks(filePath(id)), { objectMode: false }),
    path: filePath,
    list: () =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.eml'))
        .map((name) => name.slice(0, -4)),
    async record(id) {
      const fd = openSync(filePath(id), 'r');
      try {
        const { envelope, start } = readEnvelope(fd);
        if (!envelope) return null;
        const { prefixBytes, ...fields } = envelope;
        const size = fstatSync(fd).size - start - prefixBytes;
        const head = Buffer.alloc(Math.min(HEADER_SNIFF_LIMIT, size));
        readSync(fd, head, 0, head.length, start + prefixBytes);
        return queueRecord(fields, { id, size, headers: headersIn(head) });
      } finally {
        closeSync(fd);
      }
    },
    async removeUnfinished() {
      const names = readdirSync(dir).filter((name) => name.endsWith(UNFINISHED));
      await Promise.all(names.map((name) => removeFile(path.join(dir, name))));
      return names.length;
    },
  };
}
