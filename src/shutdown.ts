/**
 * Graceful stop on SIGTERM or SIGINT. The relay drains: SMTP sessions finish
 * their transaction while new ones get `421 4.3.2`, deliveries in flight
 * finish and none starts. Then the admin panel and the database close (SQLite
 * checkpoints its WAL on close) and the process exits 0. A second signal, or
 * the deadline (RELAY365_SHUTDOWN_TIMEOUT), ends it at once: open sessions get
 * `421 4.3.2`, the database still closes, and the exit code is 1 when anything
 * was cut short. Nothing acknowledged is lost either way: a message has its
 * 250 only once it is durable, and the next start queues abandoned deliveries
 * again (src/relay/recovery.ts).
 */
import type { Logger } from './log.js';

/** Exit code when the stop cut sessions or deliveries short. */
export const CUT_SHORT_EXIT_CODE = 1;

export interface ShutdownDeps {
  log: Logger;
  /** The most the stop may take, from the first signal to the exit. */
  timeoutMs: number;
  /** Finishes in-flight SMTP transactions and deliveries; new work is refused meanwhile. */
  drain(): Promise<void>;
  /** Cuts short what the drain left; returns what was cut. */
  abandon(): { sessionsCut: number; deliveriesAbandoned: number };
  /** Closes what serves nothing in flight (the admin panel), after the drain. */
  closeServers(): Promise<void>;
  /** Closes the database; it runs also when the stop is cut short, and the exit waits for it. */
  closeStore(): Promise<void>;
  exit(code: number): void;
}

/** Returns the signal handler: the first call starts the stop, a second one ends it at once. */
export function createShutdown({ log, timeoutMs, drain, abandon, closeServers, closeStore, exit }: ShutdownDeps): (signal: string) => void {
  let stopping = false;
  let finished = false;
  let deadline: NodeJS.Timeout | null = null;

  /** Logs what was left, closes the database and exits; runs once. */
  const finish = async (reason: string): Promise<void> => {
    if (finished) return;
    finished = true;
    if (deadline) clearTimeout(deadline);
    const left = abandon();
    const cut = left.sessionsCut > 0 || left.deliveriesAbandoned > 0;
    let code = cut ? CUT_SHORT_EXIT_CODE : 0;
    try {
      await closeStore();
    } catch (err) {
      log.error('cannot close the database', { alert: true, error: (err as Error).message });
      code = CUT_SHORT_EXIT_CODE;
    }
    const fields = { reason, ...left, exitCode: code };
    if (cut) log.warn('stopped; abandoned deliveries are queued again at the next start', fields);
    else log.info('stopped', fields);
    exit(code);
  };

  return (signal) => {
    if (stopping) {
      log.warn('stopping at once', { signal });
      void finish(`second ${signal}`);
      return;
    }
    stopping = true;
    log.info('stopping', { signal, timeoutMs });
    deadline = setTimeout(() => void finish('deadline'), timeoutMs);
    void drain()
      .then(closeServers)
      .then(
        () => finish('drained'),
        (err: unknown) => {
          log.error('error while stopping', { alert: true, error: (err as Error).message });
          return finish('error');
        },
      );
  };
}
