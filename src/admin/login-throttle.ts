/**
 * Login throttling: after repeated failures for one account or from one
 * client address, further attempts wait, with a delay that doubles on every
 * further failure.
 *
 * An attempt is counted before its password is checked: while it is in
 * flight it holds one of the failures its account and address have left, and
 * gives it back only if it succeeds or was never checked. So N parallel
 * attempts check at most the limit, however fast they arrive. Kept in memory:
 * a restart forgets it, which only helps the admin who locked themselves out.
 */

export interface ThrottleOptions {
  now: () => number;
  /** Failures allowed per account before a wait; default 5. */
  accountLimit?: number;
  /** Failures allowed per client address before a wait; default 20 (offices share addresses). */
  addressLimit?: number;
  /** First wait; default 30 s. */
  baseDelayMs?: number;
  /** Longest wait; default 15 minutes. */
  maxDelayMs?: number;
}

/** An admitted attempt: settle it once, when the password was checked (or could not be). */
export interface ThrottledAttempt {
  /** The password was wrong: the attempt stays counted and may start a wait. */
  failed(): void;
  /** The password was right: the account's failures are cleared (the address keeps its record). */
  succeeded(): void;
  /** The password was never checked (relay365 was busy): the attempt no longer counts. */
  abandoned(): void;
}

/** An attempt to check now, or a refusal: `waitMs` > 0 after too many failures, 0 while attempts in flight hold every try left. */
export type Admission = { admitted: true; attempt: ThrottledAttempt } | { admitted: false; waitMs: number };

export interface LoginThrottle {
  /** Admits an attempt for `account` (null: the address alone counts) from `address`, or says to wait. */
  begin(account: string | null, address: string): Admission;
}

interface Failures {
  failures: number;
  inFlight: number;
  blockedUntil: number;
  lastAt: number;
}

/** Failures older than this are forgotten. */
const FORGET_MS = 24 * 60 * 60_000;
const MAX_KEYS = 10_000;
/** Checks one account or address may have running at once, whatever it has left: the shared password queue is for everyone. */
const MAX_IN_FLIGHT = 4;

/** Creates an in-memory throttle. */
export function createLoginThrottle(options: ThrottleOptions): LoginThrottle {
  const { now, accountLimit = 5, addressLimit = 20, baseDelayMs = 30_000, maxDelayMs = 15 * 60_000 } = options;
  const records = new Map<string, Failures>();

  const get = (key: string): Failures | undefined => {
    const record = records.get(key);
    if (record && now() - record.lastAt > FORGET_MS) {
      records.delete(key);
      return undefined;
    }
    return record;
  };
  const keep = (key: string, record: Failures): void => {
    if (records.size >= MAX_KEYS && !records.has(key)) records.delete(records.keys().next().value as string);
    records.set(key, record);
  };
  /** Attempts a key admits at once: the failures it has left, at least one after a wait is over (that one may double the wait). */
  const room = (record: Failures, limit: number): number => Math.min(MAX_IN_FLIGHT, Math.max(1, limit - record.failures));
  const accountKey = (account: string): string => `account:${account.trim().toLowerCase()}`;
  const addressKey = (address: string): string => `address:${address}`;

  return {
    begin(account, address) {
      const t = now();
      const keys: [string, number][] = [[addressKey(address), addressLimit]];
      if (account !== null) keys.push([accountKey(account), accountLimit]);
      let waitMs = 0;
      let full = false;
      for (const [key, limit] of keys) {
        const record = get(key);
        if (!record) continue;
        waitMs = Math.max(waitMs, record.blockedUntil - t);
        if (record.inFlight >= room(record, limit)) full = true;
      }
      if (waitMs > 0 || full) return { admitted: false, waitMs };

      const held = keys.map(([key, limit]) => {
        const record = get(key) ?? { failures: 0, inFlight: 0, blockedUntil: 0, lastAt: t };
        record.inFlight += 1;
        record.lastAt = t;
        keep(key, record);
        return { key, limit, record };
      });
      let settled = false;
      const settle = (outcome: 'failed' | 'succeeded' | 'abandoned'): void => {
        if (settled) return;
        settled = true;
        for (const { key, limit, record } of held) {
          record.inFlight = Math.max(0, record.inFlight - 1);
          if (outcome !== 'failed') continue;
          record.failures += 1;
          record.lastAt = now();
          if (record.failures >= limit) {
            record.blockedUntil = now() + Math.min(maxDelayMs, baseDelayMs * 2 ** (record.failures - limit));
          }
          keep(key, record);
        }
        if (outcome === 'succeeded' && account !== null) records.delete(accountKey(account));
      };
      return {
        admitted: true,
        attempt: { failed: () => settle('failed'), succeeded: () => settle('succeeded'), abandoned: () => settle('abandoned') },
      };
    },
  };
}

/** A wait for people: `30 seconds`, `4 minutes`. */
export function waitText(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
