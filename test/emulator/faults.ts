/**
 * A queue of one-shot faults for the emulators: a test queues "the next token
 * request answers 500" or "the next RCPT answers 451, twice", and the server
 * takes the first matching fault when it reaches that point.
 */

/** Anything queueable: `count` says how many times it fires (default once). */
export interface Countable {
  count?: number;
}

/** First-in first-out one-shot faults. */
export class FaultQueue<F extends Countable> {
  private readonly queue: Array<{ fault: F; left: number }> = [];

  /** Queues `fault` to fire `fault.count` times (default 1). */
  push(fault: F): void {
    const left = fault.count ?? 1;
    if (!Number.isInteger(left) || left < 1) throw new Error(`fault count must be a positive integer, got ${left}`);
    this.queue.push({ fault, left });
  }

  /** Takes (consumes one firing of) the first queued fault that `matches`. */
  take(matches: (fault: F) => boolean): F | undefined {
    const index = this.queue.findIndex((entry) => matches(entry.fault));
    const entry = this.queue[index];
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left === 0) this.queue.splice(index, 1);
    return entry.fault;
  }

  /** Drops every queued fault. */
  clear(): void {
    this.queue.length = 0;
  }

  /** Number of firings still queued. */
  get pending(): number {
    return this.queue.reduce((sum, entry) => sum + entry.left, 0);
  }
}
