/**
 * The database side of backup and restore: an online snapshot of the live
 * database (SQLite's backup API through better-sqlite3, safe while the relay
 * writes), the mail a copy has waiting, and the checks a restored copy must
 * pass. The database holds the queue and the waiting messages' bodies
 * (message_bodies), so a snapshot is consistent by itself. The archive itself
 * is src/backup's; it sees file names, counts and message IDs, never a
 * database handle.
 */
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Db } from './db.js';
import { MIGRATIONS } from './migrations.js';

/** Pages per backup step: all of them, so the copy is one read transaction and never restarts half-way. */
const ALL_PAGES = 0x7fffffff;
/** Messages in any other status wait for delivery (or are in flight), as the queue's `liveIds`. */
const WAITING = `status NOT IN ('delivered', 'failed')`;

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

function hasTable(db: Db, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/** The mail a database has waiting (every status but delivered and failed). */
export interface WaitingMail {
  messages: number;
  /** Their size as received: the clients' messages, without relay365's Received: header (the queue's `size`). */
  receivedBytes: number;
}

/** How many messages a database has waiting, and their size as received. */
export function waitingMail(db: Db): WaitingMail {
  if (!hasTable(db, 'messages')) return { messages: 0, receivedBytes: 0 };
  const sql = `SELECT COUNT(*) AS messages, COALESCE(SUM(size), 0) AS receivedBytes FROM messages WHERE ${WAITING}`;
  // An aggregate without GROUP BY always gives one row.
  return db.prepare<[], WaitingMail>(sql).get() as WaitingMail;
}

/**
 * IDs of the waiting messages whose body is not in the database: every waiting message of a
 * database from before bodies moved into it (their bodies were spool files, see
 * src/relay/spool-folder.ts).
 */
export function waitingWithoutBody(db: Db): string[] {
  if (!hasTable(db, 'messages')) return [];
  const withoutBody = hasTable(db, 'message_bodies')
    ? `AND NOT EXISTS (SELECT 1 FROM message_bodies WHERE message_id = messages.id AND seq = 0)`
    : '';
  return db
    .prepare<[], { id: string }>(`SELECT id FROM messages WHERE ${WAITING} ${withoutBody} ORDER BY id`)
    .all()
    .map((r) => r.id);
}

/** What a snapshot of the live database holds. */
export interface DatabaseSnapshot {
  schemaVersion: number;
  waiting: WaitingMail;
}

/** Copies the live database in `liveFile` to `copyFile` (a new file, owner-only) and reads what the copy holds. */
export async function snapshotDatabase(liveFile: string, copyFile: string): Promise<DatabaseSnapshot> {
  const live = openExistingDatabase(liveFile);
  try {
    await copyDatabase(live, copyFile);
  } finally {
    live.close();
  }
  chmodSync(copyFile, 0o600);
  const copy = openExistingDatabase(copyFile, { readonly: true });
  try {
    return { schemaVersion: schemaVersion(copy), waiting: waitingMail(copy) };
  } finally {
    copy.close();
  }
}

/** What a restore learns of the database file it was given, in the order it checks. */
export type DatabaseFileCheck =
  | { kind: 'unopenable'; reason: string }
  | { kind: 'damaged'; problem: string }
  | { kind: 'newer'; version: number }
  | { kind: 'sound'; version: number; waiting: WaitingMail; withoutBody: string[] };

/**
 * Checks the database file at `file` as it is (no migrations): it opens, passes SQLite's integrity
 * check and is no newer than this relay365; then its schema version, its waiting mail and the
 * waiting messages whose body it does not hold.
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
    return { kind: 'sound', version, waiting: waitingMail(db), withoutBody: waitingWithoutBody(db) };
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
