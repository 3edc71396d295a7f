/**
 * Outlook's throttling of Graph mail requests as the Graph emulator keeps it:
 * requests in flight per concurrency key (with the peak seen), requests and
 * uploaded bytes per app and mailbox in sliding windows, each answering how many
 * seconds a refused request must wait (its Retry-After).
 */

interface Entry {
  at: number;
  amount: number;
}

/** The Graph emulator's throttling bookkeeping, on the emulator's clock. */
export class GraphLimits {
  /** Most requests in flight at once per key. */
  readonly peakByKey = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly windows = new Map<string, Entry[]>();

  constructor(private readonly now: () => number) {}

  /** Counts a request of `key` as in flight; returns how many are, itself included. */
  enter(key: string): number {
    const count = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, count);
    this.peakByKey.set(key, Math.max(this.peakByKey.get(key) ?? 0, count));
    return count;
  }

  /** A request of `key` was answered (or its connection closed). */
  leave(key: string): void {
    const count = (this.inFlight.get(key) ?? 1) - 1;
    if (count > 0) this.inFlight.set(key, count);
    else this.inFlight.delete(key);
  }

  /** Requests in flight over all keys. */
  get totalInFlight(): number {
    let total = 0;
    for (const count of this.inFlight.values()) total += count;
    return total;
  }

  /** Most requests of one key in flight at once. */
  get peak(): number {
    return Math.max(0, ...this.peakByKey.values());
  }

  /**
   * Takes `amount` (1 request, or bytes) from the window `name` of `key` when it fits
   * under `limit` within `windowSeconds`: returns 0, or the whole seconds until it would fit.
   */
  take(name: string, key: string, amount: number, limit: number, windowSeconds: number): number {
    const windowMs = windowSeconds * 1000;
    const now = this.now();
    const id = `${name} ${key}`;
    const entries = (this.windows.get(id) ?? []).filter((e) => e.at > now - windowMs);
    this.windows.set(id, entries);
    let used = entries.reduce((sum, e) => sum + e.amount, 0);
    if (used + amount <= limit) {
      entries.push({ at: now, amount });
      return 0;
    }
    // It fits once enough of the oldest entries have left the window; never when it alone is too big.
    for (const entry of entries) {
      used -= entry.amount;
      if (used + amount <= limit) return Math.max(1, Math.ceil((entry.at + windowMs - now) / 1000));
    }
    return windowSeconds;
  }
}
