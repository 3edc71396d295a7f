/**
 * The spool: one file per accepted message under `{dataDir}/spool`, holding
 * exactly the bytes to forward (our Received: header, then the client's
 * message). A file counts only once the store has a record for it: the
 * committer records a message after its file is fsynced, and start-up
 * recovery deletes files without a record (their client never got a 250).
 * Nothing ever rewrites a file.
 */
import { createReadStream, createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Headers we keep for the log; the sniffer looks at most this far into a message. */
const HEADER_SNIFF_LIMIT = 64 * 1024;

export interface MessageHeaders {
  subject: string | null;
  messageId: string | null;
  from: string | null;
}

export interface SpooledFile {
  id: string;
  /** Bytes of the client's message, without our Received: header. */
  size: number;
  headers: MessageHeaders;
}

export interface Spool {
  /** Streams `prefix` + `body` into the message's file and fsyncs it; memory stays bounded. */
  write(id: string, prefix: Buffer, body: Readable): Promise<SpooledFile>;
  /** Makes the new files' directory entries durable (one directory fsync for a batch). */
  syncDirectory(): Promise<void>;
  /** Deletes a message's file (refused, delivered, failed or deleted). */
  remove(id: string): Promise<void>;
  read(id: string): Readable;
  path(id: string): string;
  /** IDs of all files in the spool. */
  list(): string[];
}

/** Unfolds a header block and picks Subject, Message-ID and From. */
export function parseHeaders(block: string): MessageHeaders {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const pick = (name: string): string | null => {
    const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
    return match?.[1]?.trim() || null;
  };
  return { subject: pick('Subject'), messageId: pick('Message-ID'), from: pick('From') };
}

/** Passes bytes through, counting them and keeping the first header block. */
class HeaderSniffer extends Transform {
  bytes = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  private done = false;
  headers: MessageHeaders = { subject: null, messageId: null, from: null };

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (!this.done) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      const text = Buffer.concat(this.head).toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      if (end >= 0 || this.headBytes >= HEADER_SNIFF_LIMIT) this.finishHeaders(end >= 0 ? text.slice(0, end) : text);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.done) this.finishHeaders(Buffer.concat(this.head).toString('latin1'));
    callback();
  }

  private finishHeaders(block: string): void {
    this.done = true;
    this.head = [];
    this.headers = parseHeaders(Buffer.from(block, 'latin1').toString('utf8'));
  }
}

/** Creates (if needed) the spool folders under `dir`. */
export function createSpool(dir: string): Spool {
  mkdirSync(dir, { recursive: true });
  const filePath = (id: string): string => path.join(dir, `${id}.eml`);

  return {
    async write(id, prefix, body) {
      const sniffer = new HeaderSniffer();
      // flush: true fsyncs the file before the stream reports it is closed.
      const out = createWriteStream(filePath(id), { flush: true, mode: 0o600 });
      out.write(prefix);
      try {
        await pipeline(body, sniffer, out);
      } catch (err) {
        await unlink(filePath(id)).catch(() => undefined);
        throw err;
      }
      return { id, size: sniffer.bytes, headers: sniffer.headers };
    },
    async syncDirectory() {
      // Cheap where the files' own fsyncs already committed the directory (ext4, XFS); required by POSIX.
      const handle = await open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    remove: (id) => unlink(filePath(id)).catch(() => undefined),
    read: (id) => createReadStream(filePath(id)),
    path: filePath,
    list: () =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.eml'))
        .map((name) => name.slice(0, -4)),
  };
}
