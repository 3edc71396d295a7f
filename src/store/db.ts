/**
 * Opens the SQLite database in the data folder (WAL, full fsync on commit,
 * foreign keys, a bounded WAL file) and applies pending migrations. The
 * running relay lets commits skip their fsync (`syncWalPeriodically`).
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** SQLite's page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 4_000;

/** The most the `-wal` file keeps on disk once checkpointed (SQLite's `journal_size_limit`). */
export const JOURNAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/** Opens (creating if needed) the database at `file` and migrates it. */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk when it returns (the command line's changes, tests).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Message bodies pass through the page cache on their way in and out; better-sqlite3's 16 MB
  // default would fill with them (about 25 MiB more at the peak of 10 clients sending 30 MB each).
  // The queue's own pages stay in the operating system's cache either way.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  // The CLI and the running relay share the file; wait instead of failing.
  db.pragma('busy_timeout = 5000');
  // After a checkpoint resets the WAL, the file is cut back to this size instead of keeping its peak.
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  migrate(db);
  return db;
}

/**
 * The running relay's commits skip their fsync (synchronous=NORMAL): the group commit of accepted
 * mail, claims and delivery outcomes then no longer stop the event loop for a disk flush. Accepted
 * mail is made durable before its 250 by an fdatasync of the WAL in the thread pool after its
 * commit (`DatabaseRepo.syncWal`, src/relay/committer.ts), which covers every earlier commit too.
 * A process crash loses nothing (the WAL is in the page cache); a power cut could undo what was
 * committed since the last sync or checkpoint, so a checkpoint runs every `intervalMs` (it syncs
 * the WAL first): at most that much of delivery outcomes (a message delivered again) and settings
 * is undone.
 * Returns a function that ends the timer and turns the fsync on commit back on.
 */
export function syncWalPeriodically(db: Db, intervalMs = 1_000): () => void {
  db.pragma('synchronous = NORMAL');
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or closing: the next tick, or closing the database, checkpoints.
    }
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (db.open) db.pragma('synchronous = FULL');
  };
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this relay365 (${MIGRATIONS.length}); upgrade relay365`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
