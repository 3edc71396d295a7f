/**
 * Login throttling: after repeated failures for one account or from one
 * client address, further attempts wait, with a delay that doubles on every
 * further failure. Kept in memory: a restart forgets it, which only helps the
 * admin who locked themselves out.
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

export interface LoginThrottle {
  /** Milliseconds to wait before this attempt may be checked, or 0. */
  waitMs(account: string, address: string): number;
  /** Records a failed attempt. */
  failed(account: string, address: string): void;
  /** A successful login clears the account's failures (the address keeps its record). */
  succeeded(account: string): void;
}

interface Failures {
  failures: number;
  blockedUntil: number;
  lastAt: number;
}

/** Failures older than this are forgotten. */
const FORGET_MS = 24 * 60 * 60_000;
const MAX_KEYS = 10_000;

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
  const fail = (key: string, limit: number): void => {
    const record = get(key) ?? { failures: 0, blockedUntil: 0, lastAt: 0 };
    record.failures += 1;
    record.lastAt = now();
    if (record.failures >= limit) {
      record.blockedUntil = now() + Math.min(maxDelayMs, baseDelayMs * 2 ** (record.failures - limit));
    }
    if (records.size >= MAX_KEYS && !records.has(key)) records.delete(records.keys().next().value as string);
    records.set(key, record);
  };
  const accountKey = (account: string): string => `account:${account.trim().toLowerCase()}`;
  const addressKey = (address: string): string => `address:${address}`;

  return {
    waitMs: (account, address) =>
      Math.max(0, (get(accountKey(account))?.blockedUntil ?? 0) - now(), (get(addressKey(address))?.blockedUntil ?? 0) - now()),
    failed: (account, address) => {
      fail(accountKey(account), accountLimit);
      fail(addressKey(address), addressLimit);
    },
    succeeded: (account) => {
      records.delete(accountKey(account));
    },
  };
}
