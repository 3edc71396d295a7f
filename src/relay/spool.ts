/**
 * The spool: one file per accepted message under `{dataDir}/spool`, holding
 * exactly the bytes to forward (our Received: header, then the client's
 * message). Files are written to `tmp/`, fsynced, and renamed into place by
 * the committer; nothing else ever rewrites them.
 */
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
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
  /** Streams `prefix` + `body` into `tmp/{id}` and fsyncs it; memory stays bounded. */
  write(id: string, prefix: Buffer, body: Readable): Promise<SpooledFile>;
  /** Moves fsynced temp files into place and makes the renames durable (one directory fsync). */
  publish(ids: string[]): Promise<void>;
  /** Drops a temp file (message refused or connection lost). */
  discard(id: string): Promise<void>;
  /** Deletes a delivered or failed message's file. */
  remove(id: string): Promise<void>;
  read(id: string): Readable;
  path(id: string): string;
  /** IDs of all published files. */
  list(): string[];
  /** Deletes every temp file (start-up: they belong to unfinished transactions). */
  clearTemp(): number;
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
  const tmpDir = path.join(dir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  const finalPath = (id: string): string => path.join(dir, `${id}.eml`);
  const tmpPath = (id: string): string => path.join(tmpDir, id);

  return {
    async write(id, prefix, body) {
      const sniffer = new HeaderSniffer();
      // flush: true fsyncs the file before the stream reports it is closed.
      const out = createWriteStream(tmpPath(id), { flush: true, mode: 0o600 });
      out.write(prefix);
      try {
        await pipeline(body, sniffer, out);
      } catch (err) {
        await unlink(tmpPath(id)).catch(() => undefined);
        throw err;
      }
      return { id, size: sniffer.bytes, headers: sniffer.headers };
    },
    async publish(ids) {
      for (const id of ids) await rename(tmpPath(id), finalPath(id));
      const handle = await open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    discard: (id) => unlink(tmpPath(id)).catch(() => undefined),
    remove: (id) => unlink(finalPath(id)).catch(() => undefined),
    read: (id) => createReadStream(finalPath(id)),
    path: finalPath,
    list: () =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.eml'))
        .map((name) => name.slice(0, -4)),
    clearTemp: () => {
      const names = readdirSync(tmpDir);
      for (const name of names) rmSync(path.join(tmpDir, name), { force: true });
      return names.length;
    },
  };
}
