/**
 * The spool: one file per accepted message under `{dataDir}/spool`, holding
 * exactly the bytes to forward (our Received: header, then the client's
 * message). A file counts only once the store has a record for it: the
 * committer records a message after its file is fsynced, and start-up
 * recovery deletes files without a record (their client never got a 250).
 * Nothing ever rewrites a file, and a message that cannot be kept (over the
 * size limit, or a write failed) is deleted at once, not at the end of DATA.
 */
import { createReadStream, mkdirSync, readdirSync } from 'node:fs';
import { open as openFile, unlink } from 'node:fs/promises';
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

/** The file operations the spool needs; tests inject failing ones (a full disk, an I/O error). */
export interface SpoolFileHandle {
  writev(buffers: Buffer[]): Promise<unknown>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenSpoolFile = (path: string, flags: 'wx', mode: number) => Promise<SpoolFileHandle>;

/** The message grew past the size limit; nothing of it was kept. */
export class MessageTooBigError extends Error {
  constructor(readonly limit: number) {
    super(`message exceeds ${limit} bytes`);
    this.name = 'MessageTooBigError';
  }
}

export interface Spool {
  /**
   * Streams `prefix` + `body` into the message's file and fsyncs it; memory stays bounded.
   * Once the body passes `maxBytes` (MessageTooBigError) or a write fails, the file is
   * deleted and the rest of the body is read and dropped, so the client is answered after
   * its final dot; the error is thrown then. A body that fails (client gone) throws at once.
   */
  write(id: string, prefix: Buffer, body: Readable, maxBytes?: number): Promise<SpooledFile>;
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

/** Creates (if needed) the spool folders under `dir`; `open` is fs.promises.open unless a test injects one. */
export function createSpool(dir: string, { open: openMessage = openFile }: { open?: OpenSpoolFile } = {}): Spool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const filePath = (id: string): string => path.join(dir, `${id}.eml`);

  return {
    async write(id, prefix, body, maxBytes = Infinity) {
      const target = filePath(id);
      const file = await openMessage(target, 'wx', 0o600);
      const discard = async (): Promise<void> => {
        await file.close().catch(() => undefined);
        await unlink(target).catch(() => undefined);
      };
      let size = 0;
      let head: Buffer | null = Buffer.alloc(0);
      let headers: MessageHeaders = { subject: null, messageId: null, from: null };
      // Set once the message cannot be kept; the body is still read to its end.
      let refusal: Error | null = null;
      let batch: Buffer[] = [prefix];
      let batchBytes = prefix.length;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (refusal !== null) continue;
          try {
            if (size > maxBytes) throw new MessageTooBigError(maxBytes);
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
          } catch (err) {
            refusal = err instanceof Error ? err : new Error(String(err));
            batch = [];
            await discard();
          }
        }
        if (refusal === null) {
          if (head !== null) headers = parseHeaders(head.toString('utf8'));
          if (batch.length > 0) await file.writev(batch);
          await file.datasync();
          await file.close();
        }
      } catch (err) {
        // The body failed (the client went away) or the last write, fsync or close did.
        if (refusal === null) await discard();
        throw err;
      }
      if (refusal !== null) throw refusal;
      return { id, size, headers };
    },
    async syncDirectory() {
      // Cheap where the files' own fsyncs already committed the directory (ext4, XFS); required by POSIX.
      const handle = await openFile(dir, 'r');
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
