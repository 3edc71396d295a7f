/**
 * `relay365 restore`: puts a backup into an empty data folder. The archive is
 * checked and unpacked into a staging folder inside the data folder, the
 * database there must pass SQLite's integrity check, and only then are the
 * files moved into place (the database last). Folder 0700, files 0600. The
 * next `relay365 start` resumes the queue: recovery queues again what was
 * being delivered when the backup was made. An archive made before message
 * bodies moved into the database holds them as spool files: they go into the
 * spool folder, and that start moves them into the database
 * (src/relay/spool-folder.ts).
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkDatabaseFile, CURRENT_SCHEMA_VERSION, type DatabaseFileCheck } from '../store/backup.js';
import { BackupError } from './backup-error.js';
import { extractArchive } from './extract.js';
import { DB_FILE, DB_SIDE_FILES, SECRET_KEY_FILE, SPOOL_DIR } from '../data-folder.js';
import { spoolEntry, spoolFileCount } from './layout.js';
import { createStaging } from './staging.js';

export interface RestoreOptions {
  dataDir: string;
  from: string;
  /** RELAY365_SECRET_KEY (or its _FILE) is set: the key does not come from a file in the data folder. */
  keyFromEnvironment: boolean;
}

export interface RestoreSummary {
  files: number;
  /** Waiting messages in the restored queue. */
  messages: number;
  schemaVersion: number;
  relay365Version: string;
  createdAt: string;
  keyIncluded: boolean;
  /** Things the admin must act on before starting; each one line. */
  warnings: string[];
}

/** Refuses a data folder that already holds a queue: a restore never mixes two. */
function requireEmpty(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  if (!statSync(dataDir).isDirectory()) throw new BackupError(`${dataDir} (RELAY365_DATA_DIR) is not a folder`);
  const db = [DB_FILE, ...DB_SIDE_FILES].find((name) => existsSync(path.join(dataDir, name)));
  if (db) throw new BackupError(`${dataDir} (RELAY365_DATA_DIR) already has a database (${db}); restore only into an empty data folder`);
  const spooled = spoolFileCount(dataDir);
  if (spooled > 0)
    throw new BackupError(`${dataDir} (RELAY365_DATA_DIR) already has ${spooled} spool file(s); restore only into an empty data folder`);
}

function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Checks the staged database; returns its schema version, its waiting mail and the waiting messages whose body it does not hold. */
function checkDatabase(file: string): Extract<DatabaseFileCheck, { kind: 'sound' }> {
  const check = checkDatabaseFile(file);
  if (check.kind === 'unopenable') throw new BackupError(`the database in the archive cannot be opened (${check.reason})`);
  if (check.kind === 'damaged') throw new BackupError(`the database in the archive fails SQLite's integrity check (${check.problem})`);
  if (check.kind === 'newer')
    throw new BackupError(
      `the backup was made by a newer relay365 (schema ${check.version}, this one knows ${CURRENT_SCHEMA_VERSION}); upgrade relay365 first`,
    );
  return check;
}

/** Restores `from` into the (empty or missing) data folder; throws BackupError when refused. */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreSummary> {
  const { dataDir, from } = options;
  if (!existsSync(from) || !statSync(from).isFile()) throw new BackupError(`--from ${JSON.stringify(from)}: no such file`);
  requireEmpty(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const staging = createStaging(dataDir, 'restore');
  try {
    const manifest = await extractArchive(from, staging);
    const { version, waiting, withoutBody } = checkDatabase(path.join(staging, DB_FILE));
    const names = manifest.files.map((f) => f.path);
    // An archive of an earlier version holds the waiting messages' bodies as spool files; a newer one has none.
    const spoolEntries = new Set(names.filter((name) => name.startsWith(`${SPOOL_DIR}/`)));
    const warnings: string[] = [];
    const lost = withoutBody.filter((id) => !spoolEntries.has(spoolEntry(id))).length;
    if (lost > 0) warnings.push(`${lost} waiting message(s) have no body in the archive; relay365 will report them lost`);
    if (!manifest.keyIncluded && !options.keyFromEnvironment)
      warnings.push(
        `the archive has no encryption key and RELAY365_SECRET_KEY is not set: put the original ${SECRET_KEY_FILE} into the data folder (or set RELAY365_SECRET_KEY) before starting, or the stored client secrets and tokens cannot be read`,
      );
    if (manifest.keyIncluded && options.keyFromEnvironment)
      warnings.push(
        `RELAY365_SECRET_KEY is set, so the restored ${SECRET_KEY_FILE} is not used: it must be the key this data was sealed with`,
      );

    // Checked again right before the move: another restore or a start may have begun meanwhile.
    requireEmpty(dataDir);
    const taken = names.find((name) => existsSync(path.join(dataDir, name)));
    if (taken) throw new BackupError(`${path.join(dataDir, taken)} exists already; restore only into an empty data folder`);
    if (spoolEntries.size > 0) {
      mkdirSync(path.join(dataDir, SPOOL_DIR), { recursive: true, mode: 0o700 });
      chmodSync(path.join(dataDir, SPOOL_DIR), 0o700);
    }
    const databaseLast = [...names.filter((name) => name !== DB_FILE), DB_FILE];
    for (const name of databaseLast) {
      chmodSync(path.join(staging, name), 0o600);
      renameSync(path.join(staging, name), path.join(dataDir, name));
    }
    if (spoolEntries.size > 0) syncFolder(path.join(dataDir, SPOOL_DIR));
    syncFolder(dataDir);
    return {
      files: names.length,
      messages: waiting.messages,
      schemaVersion: version,
      relay365Version: manifest.relay365Version,
      createdAt: manifest.createdAt,
      keyIncluded: manifest.keyIncluded,
      warnings,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
