/**
 * Gathers a consistent copy of the data folder into a staging folder while the
 * relay runs: the database, copied with SQLite's online backup (it holds the
 * queue and the bodies of the waiting messages, so the copy is consistent by
 * itself), the generated listener certificate and, when asked, the key file.
 */
import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { snapshotDatabase, type WaitingMail } from '../store/backup.js';
import { DB_FILE, SECRET_KEY_FILE } from '../data-folder.js';
import { LISTENER_FILES } from './layout.js';

export interface Snapshot {
  /** Archive names of the staged files, the database first. */
  files: string[];
  schemaVersion: number;
  /** The mail waiting in the copy. */
  waiting: WaitingMail;
  keyIncluded: boolean;
}

/** Copies a small file owner-only; false when absent. */
function copyPrivate(from: string, to: string): boolean {
  if (!existsSync(from)) return false;
  copyFileSync(from, to);
  chmodSync(to, 0o600);
  return true;
}

/** Stages the database, the listener certificate and (with `includeKey`) the key file. */
export async function stageSnapshot(dataDir: string, staging: string, includeKey: boolean): Promise<Snapshot> {
  const { schemaVersion, waiting } = await snapshotDatabase(path.join(dataDir, DB_FILE), path.join(staging, DB_FILE));
  const files = [DB_FILE];
  for (const name of LISTENER_FILES) if (copyPrivate(path.join(dataDir, name), path.join(staging, name))) files.push(name);
  const keyIncluded = includeKey && copyPrivate(path.join(dataDir, SECRET_KEY_FILE), path.join(staging, SECRET_KEY_FILE));
  if (keyIncluded) files.push(SECRET_KEY_FILE);
  return { files, schemaVersion, waiting, keyIncluded };
}
