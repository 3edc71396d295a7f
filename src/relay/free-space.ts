/**
 * The free-space guard behind RELAY365_MIN_FREE_SPACE. Like Postfix's
 * `queue_minfree`, the listener refuses new mail at MAIL FROM (452 4.3.1)
 * while the data folder's file system is nearly full, rather than failing
 * half-way through a message or filling the disk the database needs. The
 * file system is asked at most once a second, and accepting resumes by itself
 * once space returns.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.js';

/** Bytes an unprivileged process may still write on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

/** How long one answer from the file system is trusted. */
const PROBE_CACHE_MS = 1_000;

/** The probe relay365 uses: statfs(2), blocks available to unprivileged users. */
export const statfsProbe: FreeSpaceProbe = async (dir) => {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
};

export interface FreeSpaceGuard {
  /** False while the data folder has less than the configured free space. */
  hasRoom(): Promise<boolean>;
}

export interface FreeSpaceOptions {
  dir: string;
  /** Bytes that must stay free; 0 turns the check off. */
  minFree: number;
  probe?: FreeSpaceProbe;
  now?: () => number;
  log: Logger;
}

/** Creates the guard for `dir`; it logs once when space runs low and once when it returns. */
export function createFreeSpaceGuard({ dir, minFree, probe = statfsProbe, now = Date.now, log }: FreeSpaceOptions): FreeSpaceGuard {
  let checkedAt = -Infinity;
  let answer: Promise<boolean> = Promise.resolve(true);
  let low = false;
  let unknown = false;

  const check = async (): Promise<boolean> => {
    let free: number;
    try {
      free = await probe(dir);
    } catch (err) {
      // A file system that cannot say (an odd mount) must not stop the relay; a failed write still answers 451.
      if (!unknown) log.warn('free space in the data folder unknown; accepting mail', { dir, error: (err as Error).message });
      unknown = true;
      return true;
    }
    unknown = false;
    const wasLow = low;
    low = free < minFree;
    if (low && !wasLow) log.warn('data folder nearly full: refusing new mail with 452 4.3.1', { dir, free, minFree });
    if (!low && wasLow) log.info('data folder has room again: accepting mail', { dir, free, minFree });
    return !low;
  };

  return {
    hasRoom() {
      if (minFree === 0) return Promise.resolve(true);
      if (now() - checkedAt >= PROBE_CACHE_MS) {
        checkedAt = now();
        answer = check();
      }
      return answer;
    },
  };
}
