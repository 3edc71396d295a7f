/**
 * The spool: one file per accepted message under `{dataDir}/spool`, holding
 * exactly the bytes to forward (our Received: header, then the client's
 * message). A file counts only once the store has a record for it: the
 * committer records a message after its file is fsynced, and start-up
 * recovery deletes files without a record (their client never got a 250).
 * Nothing ever rewrites a file.
 */
import { createReadStream, mkdirSync, readdirSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

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

/** Collects the start of a message until its header block ends (or the sniff limit). */
function headerBlock(head: Buffer): string | null {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  if (end >= 0) return text.slice(0, end);
  return head.length >= HEADER_SNIFF_LIMIT ? text : null;
}

/** Bytes gathered before one write call: few syscalls for small messages, bounded memory for large ones. */
const WRITE_BATCH_BYTES = 256 * 1024;

/** Creates (if needed) the spool folders under `dir`. */
export function createSpool(dir: string): Spool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const filePath = (id: string): string => path.join(dir, `${id}.eml`);

  return {
    async write(id, prefix, body) {
      const file = await open(filePath(id), 'wx', 0o600);
      let size = 0;
      let head: Buffer | null = Buffer.alloc(0);
      let headers: MessageHeaders = { subject: null, messageId: null, from: null };
      try {
        let batch: Buffer[] = [prefix];
        let batchBytes = prefix.length;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (head !== null) {
            head = Buffer.concat([head, chunk]);
            const block = headerBlock(head);
            if (block !== null) {
              headers = parseHeaders(Buffer.from(block, 'latin1').toString('utf8'));
              head = null;
            }
          }
          batch.push(chunk);
          batchBytes += chunk.length;
          if (batchBytes >= WRITE_BATCH_BYTES) {
            await file.writev(batch);
            batch = [];
            batchBytes = 0;
          }
        }
        if (head !== null) headers = parseHeaders(head.toString('utf8'));
        if (batch.length > 0) await file.writev(batch);
        await file.datasync();
      } catch (err) {
        await file.close().catch(() => undefined);
        await unlink(filePath(id)).catch(() => undefined);
        throw err;
      }
      await file.close();
      return { id, size, headers };
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
