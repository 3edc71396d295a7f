/**
 * The database side of backup and restore: an online snapshot of the live
 * database (SQLite's backup API through better-sqlite3, safe while the relay
 * writes), the messages a snapshot still has waiting, and the checks a
 * restored copy must pass. The archive itself is src/backup's; it sees file
 * names and message IDs, never a database handle.
 */
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Db } from './db.js';
import { MIGRATIONS } from './migrations.js';

/** Pages per backup step: all of them, so the copy is one read transaction and never restarts half-way. */
const ALL_PAGES = 0x7fffffff;
const FINAL = ['delivered', 'failed'];

/** Opens an existing database file as it is: no migrations, waiting for the relay's locks like the CLI does. */
export function openExistingDatabase(file: string, options: { readonly?: boolean } = {}): Db {
  const db = new Database(file, { fileMustExist: true, readonly: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Writes a consistent copy of `live` to `dest` (a new file), as one rollback-journal file without a `-wal`. */
export async function copyDatabase(live: Db, dest: string): Promise<void> {
  await live.backup(dest, { progress: () => ALL_PAGES });
  const copy = new Database(dest);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/** The schema version (migrations applied) of a database. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** The schema version this relay365 migrates to; a newer database cannot be used. */
export const CURRENT_SCHEMA_VERSION = MIGRATIONS.length;

/** IDs of the messages whose spool file must be kept (every status but delivered and failed), as the queue's `liveIds`. */
export function waitingMessageIds(db: Db): string[] {
  const hasQueue = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'`).get() !== undefined;
  if (!hasQueue) return [];
  return (db.prepare(`SELECT id FROM messages WHERE status NOT IN ('delivered', 'failed')`).all() as { id: string }[]).map((r) => r.id);
}

/**
 * Messages waiting in the snapshot `copy` whose spool file the relay removed before the backup could
 * keep it: they finished (or were deleted) after the snapshot. The copy takes their state from `live`
 * now, so that a restored relay neither sends them again nor reports them lost. A message `live`
 * still has waiting lost its file in the running relay too and is left as the snapshot has it.
 */
export function settleFinished(copy: Db, live: Db, ids: readonly string[]): { settled: number; removed: number } {
  const current = live.prepare(`SELECT status, attempts, last_reply, updated_at FROM messages WHERE id = ?`);
  const recipients = live.prepare(`SELECT address, status, reply, done_at FROM recipients WHERE message_id = ?`);
  const setMessage = copy.prepare(`UPDATE messages SET status = ?, attempts = ?, last_reply = ?, updated_at = ? WHERE id = ?`);
  const setRecipient = copy.prepare(`UPDATE recipients SET status = ?, reply = ?, done_at = ? WHERE message_id = ? AND address = ?`);
  const remove = copy.prepare(`DELETE FROM messages WHERE id = ?`);
  const removeRecipients = copy.prepare(`DELETE FROM recipients WHERE message_id = ?`);
  let settled = 0;
  let removed = 0;
  copy.transaction(() => {
    for (const id of ids) {
      const row = current.get(id) as { status: string; attempts: number; last_reply: string | null; updated_at: number } | undefined;
      if (row === undefined) {
        removeRecipients.run(id);
        remove.run(id);
        removed++;
      } else if (FINAL.includes(row.status)) {
        setMessage.run(row.status, row.attempts, row.last_reply, row.updated_at, id);
        for (const r of recipients.all(id) as { address: string; status: string; reply: string | null; done_at: number | null }[]) {
          setRecipient.run(r.status, r.reply, r.done_at, id, r.address);
        }
        settled++;
      }
    }
  })();
  return { settled, removed };
}

/** What a snapshot of the live database holds once its waiting mail agrees with the staged spool. */
export interface DatabaseSnapshot {
  schemaVersion: number;
  /** IDs of the messages waiting in the copy, each with its spool file kept. */
  waiting: string[];
  /** Messages that finished (or were deleted) while the backup ran; the copy has their final state. */
  finishedMeanwhile: number;
}

/**
 * Copies the live database in `liveFile` to `copyFile` (a new file, owner-only) and brings the copy's
 * waiting mail in line with the spool: `keep(id)` keeps a waiting message's spool file, false when the
 * relay removed it meanwhile; such a message takes its state from the live database (settleFinished).
 */
export async function snapshotDatabase(liveFile: string, copyFile: string, keep: (id: string) => boolean): Promise<DatabaseSnapshot> {
  const live = openExistingDatabase(liveFile);
  try {
    await copyDatabase(live, copyFile);
    chmodSync(copyFile, 0o600);
    const copy = openExistingDatabase(copyFile);
    try {
      copy.pragma('foreign_keys = ON');
      const gone = waitingMessageIds(copy).filter((id) => !keep(id));
      const { settled, removed } = gone.length > 0 ? settleFinished(copy, live, gone) : { settled: 0, removed: 0 };
      return { schemaVersion: schemaVersion(copy), waiting: waitingMessageIds(copy), finishedMeanwhile: settled + removed };
    } finally {
      copy.close();
    }
  } finally {
    live.close();
  }
}

/** What a restore learns of the database file it was given, in the order it checks. */
export type DatabaseFileCheck =
  | { kind: 'unopenable'; reason: string }
  | { kind: 'damaged'; problem: string }
  | { kind: 'newer'; version: number }
  | { kind: 'sound'; version: number; waiting: string[] };

/**
 * Checks the database file at `file` as it is (no migrations): it opens, passes SQLite's integrity
 * check and is no newer than this relay365; then its schema version and waiting message IDs.
 */
export function checkDatabaseFile(file: string): DatabaseFileCheck {
  let db: Db;
  try {
    db = openExistingDatabase(file);
  } catch (err) {
    return { kind: 'unopenable', reason: (err as Error).message };
  }
  try {
    const problem = integrityProblem(db);
    if (problem !== null) return { kind: 'damaged', problem };
    const version = schemaVersion(db);
    if (version > CURRENT_SCHEMA_VERSION) return { kind: 'newer', version };
    return { kind: 'sound', version, waiting: waitingMessageIds(db) };
  } finally {
    db.close();
  }
}

/** SQLite's own check of a database file; null when it is sound, else the first problem it names. */
export function integrityProblem(db: Db): string | null {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const first = rows[0]?.integrity_check;
  return first === 'ok' ? null : (first ?? 'no answer from the integrity check');
}
