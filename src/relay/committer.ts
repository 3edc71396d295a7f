/**
 * Group commit for accepted messages. Each message's file is already fsynced;
 * what is left is to make the directory entries durable (one directory fsync)
 * and to record the messages (one SQLite transaction, one WAL fsync). Messages
 * that arrive while a commit runs wait for the next one, so concurrent clients
 * share the cost of the two fsyncs instead of paying them one by one.
 */
import type { NewMessage, QueueRepo } from '../store/queue.js';
import type { Spool } from './spool.js';

interface Pending {
  message: NewMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface Committer {
  /** Resolves once the message is durable: its file and its record are on disk. */
  commit(message: NewMessage): Promise<void>;
  /** Resolves after every commit requested so far has finished. */
  drain(): Promise<void>;
}

/** Creates a committer; `onCommitted` runs after each batch (to wake the scheduler). */
export function createCommitter(spool: Spool, queue: QueueRepo, onCommitted: (messages: NewMessage[]) => void): Committer {
  let waiting: Pending[] = [];
  let running: Promise<void> | null = null;

  const runBatches = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const messages = batch.map((p) => p.message);
      try {
        await spool.syncDirectory();
        queue.insert(messages);
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      for (const p of batch) p.resolve();
      onCommitted(messages);
    }
  };

  const start = (): void => {
    running ??= runBatches().finally(() => {
      running = null;
      if (waiting.length > 0) start();
    });
  };

  return {
    commit(message) {
      const done = new Promise<void>((resolve, reject) => waiting.push({ message, resolve, reject }));
      start();
      return done;
    },
    async drain() {
      while (running) await running;
    },
  };
}
