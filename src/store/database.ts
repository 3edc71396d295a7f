/**
 * The database as a whole, for the relay's operations: SQLite's own integrity
 * check, the one small write readiness makes, the periodic WAL sync of the
 * running relay, and the bytes the database takes on disk. Engine settings
 * and pragmas stay behind these methods.
 */
import { closeSync, fdatasync, fsync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { integrityProblem } from './backup.js';
import { syncWalPeriodically, type Db } from './db.js';

/** What the readiness write found: written, the probe row missing, or refused (with the engine's error code, no data). */
export type WriteProbe = { kind: 'written' } | { kind: 'no-probe-row' } | { kind: 'refused'; code: string };

/** What the database is, and its clock (PostgreSQL's server may run on another machine). */
export interface DatabaseFacts {
  engine: 'SQLite' | 'PostgreSQL';
  version: string;
  /** The database's own time when it answered, in ms since the epoch. */
  clockMs: number;
}

export interface DatabaseRepo {
  /** The engine, its version and its clock. */
  facts(): DatabaseFacts;
  /** SQLite's integrity check: null when the database is sound, else the first problem it names; throws when it cannot run. */
  integrity(): string | null;
  /** Updates the one `health_probe` row to `at`: whether the database takes a write now. Never throws. */
  probeWrite(at: number): WriteProbe;
  /** The running relay's commits skip their fsync, with a checkpoint every `intervalMs` (see db.ts); returns the stop. */
  startWalSync(intervalMs?: number): () => void;
  /**
   * Makes every commit so far durable: an fdatasync of the write-ahead log in libuv's thread pool,
   * so the event loop goes on meanwhile and the clients waiting on one group commit share it.
   */
  syncWal(): Promise<void>;
  /** Closes the descriptor `syncWal` keeps (with the store). */
  close(): void;
  /** The database file and its write-ahead log, in bytes. */
  sizeBytes(): number;
}

const fileSize = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** The bytes of `db`'s file and its write-ahead log. */
export function databaseBytes(db: Db): number {
  return fileSize(db.name) + fileSize(`${db.name}-wal`);
}

const inPool = (call: (done: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));

/**
 * Opens the write-ahead log for `syncWal`, and fsyncs the folder once so the log file's own name is
 * durable (SQLite syncs it with its first fsync of the log, which commits without their fsync may
 * never make). The file keeps its inode while the database is open: a checkpoint rewinds and
 * truncates it, only the last connection's close deletes it.
 */
async function openWal(db: Db): Promise<number> {
  const wal = openSync(`${db.name}-wal`, 'r');
  const dir = openSync(path.dirname(db.name), 'r');
  try {
    await inPool((done) => fsync(dir, done));
  } finally {
    closeSync(dir);
  }
  return wal;
}

/** Creates the database's own operations over an open database. */
export function createDatabaseRepo(db: Db): DatabaseRepo {
  let probe: ReturnType<Db['prepare']> | null = null;
  let wal: Promise<number> | null = null;
  return {
    facts: () => ({
      engine: 'SQLite',
      version: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      // The file is on this machine: its clock is ours.
      clockMs: Date.now(),
    }),
    integrity: () => integrityProblem(db),
    probeWrite: (at) => {
      try {
        // Prepared on first use, inside the try: a closed database answers here like any other failure.
        probe ??= db.prepare('UPDATE health_probe SET checked_at = ? WHERE id = 1');
        return probe.run(at).changes === 1 ? { kind: 'written' } : { kind: 'no-probe-row' };
      } catch (err) {
        // SQLite's codes (SQLITE_READONLY, SQLITE_FULL, SQLITE_BUSY…) name the problem without any data.
        const code = (err as { code?: unknown }).code;
        return { kind: 'refused', code: typeof code === 'string' ? code : 'database not open' };
      }
    },
    startWalSync: (intervalMs) => syncWalPeriodically(db, intervalMs),
    async syncWal() {
      wal ??= openWal(db).catch((err: unknown) => {
        wal = null;
        throw err;
      });
      const fd = await wal;
      await inPool((done) => fdatasync(fd, done));
    },
    close() {
      void wal?.then(closeSync, () => undefined);
      wal = null;
    },
    sizeBytes: () => databaseBytes(db),
  };
}
