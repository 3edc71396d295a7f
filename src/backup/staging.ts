/**
 * Staging folders. A backup or a restore assembles its files in a folder
 * inside the data folder, which it removes when it ends. A run that was killed
 * leaves its folder behind: a copy of the database (and, restoring an archive
 * of an earlier version, its spool files). Each folder is named after the
 * machine and process that made it (`.backup-HOST-PID-xxxxxx`), so that the
 * next backup, restore or relay start can remove those whose process is gone.
 * A folder made on another host (a second container sharing the volume) is
 * left alone: its process cannot be seen from here.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

type StagingKind = 'backup' | 'restore';

const STAGING = /^\.(?:backup|restore)-(.+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Creates this process's staging folder for a `kind` in `dataDir`, removing those that killed runs left first. */
export function createStaging(dataDir: string, kind: StagingKind): string {
  removeAbandonedStaging(dataDir);
  return mkdtempSync(path.join(dataDir, `.${kind}-${hostname()}-${process.pid}-`));
}

/** Whether a process with this ID runs on this machine (one of another user counts). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the staging folders of backups and restores on this host whose process is gone; returns their names. */
export function removeAbandonedStaging(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  const host = hostname();
  const abandoned = readdirSync(dataDir).filter((name) => {
    const match = STAGING.exec(name);
    return match !== null && match[1] === host && !running(Number(match[2]));
  });
  for (const name of abandoned) rmSync(path.join(dataDir, name), { recursive: true, force: true });
  return abandoned;
}
