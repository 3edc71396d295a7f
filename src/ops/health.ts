/**
 * Readiness behind GET /readyz: the relay can take mail only when the
 * database takes a write (the one row of `health_probe` is updated), the SMTP
 * listener is accepting connections, and the data folder has more free space
 * than RELAY365_MIN_FREE_SPACE (the same threshold, and the same statfs probe,
 * as the listener's 452 4.3.1). Each failed check says why in words an
 * operator can act on; no secret, path of a secret or stack trace is in it.
 * GET /api/v1/health answers the same body with the same status.
 */
import { statfsProbe, type FreeSpaceProbe } from '../relay/free-space.js';
import type { StoreSlice } from '../store/index.js';

/** The checks, in the order they are answered. */
export const CHECK_NAMES = ['database', 'smtp', 'disk'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  ok: boolean;
  /** What was found: `takes writes`, `not accepting connections`, `12 MB free, 100 MB needed`. */
  detail: string;
}

/** The one answer of GET /readyz and GET /api/v1/health (503 unless `status` is `ready`). */
export interface Readiness {
  status: 'ready' | 'not ready';
  /** The checks that failed, in the order of `checks`. */
  failed: CheckName[];
  checks: Record<CheckName, CheckResult>;
}

export interface HealthOptions {
  store: StoreSlice<{ database: 'probeWrite' }>;
  dataDir: string;
  /** Free bytes the data folder needs (RELAY365_MIN_FREE_SPACE); 0 turns the check off. */
  minFreeSpace: number;
  /** True while the SMTP listener accepts connections. */
  listening: () => boolean;
  freeSpace?: FreeSpaceProbe;
  now?: () => number;
}

export interface Health {
  /** Runs every check (one small write to the database). */
  ready(): Promise<Readiness>;
}

/** The HTTP status that goes with a readiness answer: 200 when ready, else 503. */
export const readinessStatus = ({ status }: Readiness): 200 | 503 => (status === 'ready' ? 200 : 503);

const MB = 1_000_000;
const megabytes = (bytes: number): string => `${Math.floor(bytes / MB)} MB`;

/** Creates the readiness checks. */
export function createHealth({ store, dataDir, minFreeSpace, listening, freeSpace = statfsProbe, now = Date.now }: HealthOptions): Health {
  const database = async (): Promise<CheckResult> => {
    const probe = await store.database.probeWrite(now());
    if (probe.kind === 'written') return { ok: true, detail: 'takes writes' };
    if (probe.kind === 'no-probe-row') return { ok: false, detail: 'the health_probe row is missing' };
    return { ok: false, detail: `does not take writes (${probe.code})` };
  };

  const disk = async (): Promise<CheckResult> => {
    if (minFreeSpace === 0) return { ok: true, detail: 'check off (RELAY365_MIN_FREE_SPACE=0)' };
    let free: number;
    try {
      free = await freeSpace(dataDir);
    } catch (err) {
      // The listener accepts mail when the file system cannot say (free-space.ts); readiness agrees.
      return { ok: true, detail: `free space unknown (${(err as NodeJS.ErrnoException).code ?? 'no answer'})` };
    }
    const detail = `${megabytes(free)} free, ${megabytes(minFreeSpace)} needed`;
    return { ok: free >= minFreeSpace, detail };
  };

  return {
    async ready() {
      const checks: Record<CheckName, CheckResult> = {
        database: await database(),
        smtp: listening() ? { ok: true, detail: 'accepting connections' } : { ok: false, detail: 'not accepting connections' },
        disk: await disk(),
      };
      const failed = CHECK_NAMES.filter((name) => !checks[name].ok);
      return { status: failed.length === 0 ? 'ready' : 'not ready', failed, checks };
    },
  };
}
