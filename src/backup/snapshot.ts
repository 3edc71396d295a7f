/**
 * Gathers a consistent copy of the data folder into a staging folder while the
 * relay runs. The spool and the database must agree: every message the copied
 * database still has waiting needs its spool file, and nothing else is kept.
 *
 * Spool files are hard-linked (never rewritten, so a link is a copy that costs
 * nothing and survives the relay deleting the original): once before the
 * database snapshot, which catches every message that was waiting then, and
 * once after it for messages that arrived meanwhile (a message's file is
 * written before its record, so every record in the snapshot had its file
 * by then). A file the relay removed before the second pass belongs to a
 * message that finished after the snapshot; the copy takes its final state.
 * The staging folder lives in the data folder so that links work.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { snapshotDatabase } from '../store/backup.js';
import { DB_FILE, SECRET_KEY_FILE, SPOOL_DIR } from '../data-folder.js';
import { LISTENER_FILES, spoolEntry } from './layout.js';

export interface Snapshot {
  /** Archive names of the staged files, the database first. */
  files: string[];
  schemaVersion: number;
  /** Messages waiting in the copy (each with its spool file). */
  waiting: number;
  keyIncluded: boolean;
  /** Messages that finished (or were deleted) while the backup ran; the copy has their final state. */
  finishedMeanwhile: number;
}

/** Links `from` to `to`, or copies it where the file system cannot link; false when `from` is gone. */
function linkOrCopy(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP') throw err;
  }
  try {
    copyFileSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Copies a small file owner-only (a hard link would share the original's mode); false when absent. */
function copyPrivate(from: string, to: string): boolean {
  if (!existsSync(from)) return false;
  copyFileSync(from, to);
  chmodSync(to, 0o600);
  return true;
}

/** Stages the database, the waiting spool files, the listener certificate and (with `includeKey`) the key file. */
export async function stageSnapshot(dataDir: string, staging: string, includeKey: boolean): Promise<Snapshot> {
  const spool = path.join(dataDir, SPOOL_DIR);
  const stagedSpool = path.join(staging, SPOOL_DIR);
  mkdirSync(stagedSpool, { mode: 0o700 });
  const stage = (id: string): boolean => linkOrCopy(path.join(dataDir, spoolEntry(id)), path.join(staging, spoolEntry(id)));
  const staged = new Set<string>();
  const spoolIds = existsSync(spool)
    ? readdirSync(spool)
        .filter((n) => n.endsWith('.eml'))
        .map((n) => n.slice(0, -4))
    : [];
  for (const id of spoolIds) if (stage(id)) staged.add(id);

  // A message waiting in the copy keeps its file: staged before the snapshot, or now.
  const keep = (id: string): boolean => {
    if (!staged.has(id) && stage(id)) staged.add(id);
    return staged.has(id);
  };
  const { schemaVersion, waiting, finishedMeanwhile } = await snapshotDatabase(
    path.join(dataDir, DB_FILE),
    path.join(staging, DB_FILE),
    keep,
  );
  // Files of messages the snapshot has finished (or never recorded) would only be deleted by a restored relay.
  const kept = new Set(waiting.filter((id) => staged.has(id)));
  for (const id of staged) if (!kept.has(id)) unlinkSync(path.join(staging, spoolEntry(id)));

  const files = [DB_FILE];
  for (const name of LISTENER_FILES) if (copyPrivate(path.join(dataDir, name), path.join(staging, name))) files.push(name);
  const keyIncluded = includeKey && copyPrivate(path.join(dataDir, SECRET_KEY_FILE), path.join(staging, SECRET_KEY_FILE));
  if (keyIncluded) files.push(SECRET_KEY_FILE);
  files.push(...[...kept].sort().map(spoolEntry));
  return { files, schemaVersion, waiting: kept.size, keyIncluded, finishedMeanwhile };
}
