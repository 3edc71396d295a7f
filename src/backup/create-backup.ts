/**
 * `relay365 backup`: a gzipped tar of a consistent snapshot of the data folder
 * (see snapshot.ts), with a manifest first. The archive is written to
 * `FILE.partial` (mode 0600) and renamed to FILE only once complete, so a
 * half-written archive never carries the final name. A data folder whose spool
 * folder still holds an earlier relay365's message files is refused: their
 * bodies are not in the database until relay365 starts and moves them there.
 */
import { closeSync, createWriteStream, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create as createTar, type WriteEntry } from 'tar';
import { BackupError } from './backup-error.js';
import { DB_FILE } from '../data-folder.js';
import { MANIFEST_FILE, spoolFileCount } from './layout.js';
import { relay365Version } from '../version.js';
import { describeFile, MANIFEST_FORMAT, type Manifest, type ManifestFile } from './manifest.js';
import { stageSnapshot } from './snapshot.js';
import { createStaging } from './staging.js';

export interface BackupOptions {
  dataDir: string;
  /** The archive to write; it must not exist yet. */
  to: string;
  /** Put the key file into the archive (when there is one). */
  includeKey: boolean;
  now?: () => Date;
}

export interface BackupSummary {
  file: string;
  /** Size of the archive. */
  bytes: number;
  databaseBytes: number;
  /** Messages waiting in the archived database, their bodies with them. */
  messages: number;
  /** Their size as received, without relay365's Received: header. */
  receivedBytes: number;
  schemaVersion: number;
  keyIncluded: boolean;
  listenerCertificate: boolean;
}

/** Every entry is owner-only in the archive, whatever the file's mode on disk. */
function ownerOnly(entry: WriteEntry): void {
  if (entry.stat) entry.stat.mode = (entry.stat.mode & ~0o7777) | 0o600;
}

/** Makes a rename durable: fsyncs the folder that holds `file`. */
function syncFolder(file: string): void {
  const fd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes the archive; throws BackupError when there is nothing to back up, the spool folder is not moved yet, or the target is taken. */
export async function createBackup(options: BackupOptions): Promise<BackupSummary> {
  const { dataDir, includeKey } = options;
  const to = path.resolve(options.to);
  const partial = `${to}.partial`;
  if (!existsSync(path.join(dataDir, DB_FILE)))
    throw new BackupError(`there is no relay365 database in ${dataDir} (RELAY365_DATA_DIR): nothing to back up`);
  const spooled = spoolFileCount(dataDir);
  if (spooled > 0)
    throw new BackupError(
      `${dataDir} (RELAY365_DATA_DIR) still has ${spooled} spool file(s) of an earlier relay365, whose messages are not in the database yet: start relay365 once (it moves them into the database), then back up`,
    );
  if (!existsSync(path.dirname(to))) throw new BackupError(`--to ${JSON.stringify(options.to)}: the folder does not exist`);
  if (existsSync(to)) throw new BackupError(`--to ${JSON.stringify(options.to)}: the file exists already; choose a new name`);

  const staging = createStaging(dataDir, 'backup');
  try {
    const snapshot = await stageSnapshot(dataDir, staging, includeKey);
    const files: ManifestFile[] = [];
    for (const name of snapshot.files) files.push(await describeFile(path.join(staging, name), name));
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      relay365Version: relay365Version(),
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      schemaVersion: snapshot.schemaVersion,
      keyIncluded: snapshot.keyIncluded,
      waiting: snapshot.waiting,
      files,
    };
    writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    let fd: number;
    try {
      fd = openSync(partial, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new BackupError(`${partial} exists: another backup is writing it, or one was interrupted (then remove it)`);
    }
    const pack = createTar({ gzip: true, cwd: staging, portable: true, onWriteEntry: ownerOnly }, [MANIFEST_FILE, ...snapshot.files]);
    try {
      await pipeline(pack, createWriteStream('', { fd, flush: true }));
      renameSync(partial, to);
      syncFolder(to);
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
    return {
      file: to,
      bytes: statSync(to).size,
      databaseBytes: files.find((f) => f.path === DB_FILE)?.size ?? 0,
      messages: snapshot.waiting.messages,
      receivedBytes: snapshot.waiting.receivedBytes,
      schemaVersion: snapshot.schemaVersion,
      keyIncluded: snapshot.keyIncluded,
      listenerCertificate: snapshot.files.some((name) => name.startsWith('listener-')),
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
