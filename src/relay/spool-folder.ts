/**
 * The spool folder of earlier relay365 versions, which kept each accepted
 * message in `{dataDir}/spool/{id}.eml` (its envelope as JSON, then the bytes
 * to forward) and `.tmp` files for messages still being received. At start-up
 * its messages move into the database: a file whose record a power cut undid
 * is recorded again from its envelope, a waiting message gets its body, and
 * every file is deleted once the database holds its bytes durably. A backup
 * made by those versions restores its spool files here, so this path also
 * brings them in.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import { CHUNK_BYTES, headersIn, queueRecord, type SpoolEnvelope } from './spool.js';

/** Headers sniffed from a file's message, as the listener sniffs them. */
const HEADER_SNIFF_BYTES = 64 * 1024;

/** A spool file starts with this tag, the envelope's length in 8 hex digits and the envelope as JSON; the oldest files start with the message. */
const ENVELOPE_TAG = 'R365ENV1';
const ENVELOPE_HEAD_BYTES = ENVELOPE_TAG.length + 8;

export type SpoolFolderStore = StoreSlice<{
  queue: 'get' | 'insert';
  bodies: 'append' | 'has' | 'remove';
  database: 'syncWal';
}>;

export interface SpoolFolderReport {
  /** Messages recorded again from their envelope (a power cut undid the record). */
  rebuilt: number;
  /** Bodies of waiting messages moved into the database. */
  moved: number;
  /** Files of finished messages, of messages never acknowledged (`.tmp`) and damaged files, deleted. */
  removed: number;
}

/** A file's envelope (null for the oldest files) and where its message bytes start. */
function readEnvelope(fd: number): { envelope: (SpoolEnvelope & { prefixBytes: number }) | null; start: number } {
  const head = Buffer.alloc(ENVELOPE_HEAD_BYTES);
  const read = readSync(fd, head, 0, head.length, 0);
  if (read < ENVELOPE_HEAD_BYTES || head.toString('latin1', 0, ENVELOPE_TAG.length) !== ENVELOPE_TAG) return { envelope: null, start: 0 };
  const length = Number.parseInt(head.toString('latin1', ENVELOPE_TAG.length), 16);
  const json = Buffer.alloc(length);
  readSync(fd, json, 0, length, ENVELOPE_HEAD_BYTES);
  return { envelope: JSON.parse(json.toString('utf8')) as SpoolEnvelope & { prefixBytes: number }, start: ENVELOPE_HEAD_BYTES + length };
}

/** Reads `length` bytes of `fd` at `position`. */
function readAt(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  return bytes.subarray(0, readSync(fd, bytes, 0, length, position));
}

/**
 * Moves one file's message into the store: its body in chunks, the last chunk with the record
 * when the record must be made again. Returns what it did, or null when the file is not needed.
 */
async function moveFile(store: SpoolFolderStore, id: string, file: string): Promise<'rebuilt' | 'moved' | null> {
  const fd = openSync(file, 'r');
  try {
    const { envelope, start } = readEnvelope(fd);
    const size = fstatSync(fd).size;
    const existing = await store.queue.get(id);
    const rebuild = existing === undefined && envelope !== null;
    const live = existing !== undefined && existing.status !== 'delivered' && existing.status !== 'failed';
    if ((!rebuild && !live) || (await store.bodies.has(id))) return null;
    // A half-moved body (a crash during this move) is moved again from the start.
    await store.bodies.remove(id);
    let seq = 0;
    let position = start;
    for (; size - position > CHUNK_BYTES; position += CHUNK_BYTES) {
      await store.bodies.append({ messageId: id, seq: seq++, bytes: readAt(fd, position, CHUNK_BYTES) });
    }
    const last = { messageId: id, seq, bytes: readAt(fd, position, size - position) };
    if (!rebuild || envelope === null) {
      await store.bodies.append(last);
      return 'moved';
    }
    const { prefixBytes, ...fields } = envelope;
    const messageStart = start + prefixBytes;
    const record = queueRecord(fields, {
      size: size - messageStart,
      headers: headersIn(readAt(fd, messageStart, Math.min(HEADER_SNIFF_BYTES, size - messageStart))),
    });
    await store.queue.insert([record], [last]);
    return 'rebuilt';
  } finally {
    closeSync(fd);
  }
}

/** Moves the messages of the spool folder `dir` into the store and deletes the folder; nothing to do when it is gone. */
export async function moveSpoolFolder(store: SpoolFolderStore, dir: string, log: Logger): Promise<SpoolFolderReport> {
  const report: SpoolFolderReport = { rebuilt: 0, moved: 0, removed: 0 };
  if (!existsSync(dir)) return report;
  const names = readdirSync(dir);
  for (const name of names) {
    if (!name.endsWith('.eml')) {
      report.removed++;
      continue;
    }
    const id = name.slice(0, -'.eml'.length);
    try {
      const done = await moveFile(store, id, path.join(dir, name));
      if (done === null) report.removed++;
      else report[done]++;
      if (done === 'rebuilt') log.warn('message recorded again from its spool file', { queueId: id });
    } catch (err) {
      // Its email server was deleted meanwhile, or the file is damaged: it cannot be delivered.
      log.error('spool file could not be moved into the database; removed', { queueId: id, alert: true, error: (err as Error).message });
      report.removed++;
    }
  }
  // The files go only once the database holds their bytes on disk.
  await store.database.syncWal();
  for (const name of names) unlinkSync(path.join(dir, name));
  rmdirSync(dir);
  if (report.rebuilt + report.moved > 0) log.info('spool folder moved into the database', { ...report });
  return report;
}
