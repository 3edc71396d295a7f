/**
 * Opens the SQLite database in the data folder (WAL, full fsync on commit,
 * foreign keys, a bounded WAL file) and applies pending migrations.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** The most the `-wal` file keeps on disk once checkpointed (SQLite's `journal_size_limit`). */
export const JOURNAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/** Opens (creating if needed) the database at `file` and migrates it. */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before we answer 250 (PRODUCT.md, Durability).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // The CLI and the running relay share the file; wait instead of failing.
  db.pragma('busy_timeout = 5000');
  // After a checkpoint resets the WAL, the file is cut back to this size instead of keeping its peak.
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  migrate(db);
  return db;
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
