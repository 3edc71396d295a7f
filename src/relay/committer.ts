/**
 * Group commit for accepted messages. Each message's file, envelope included,
 * is already fsynced; what is left is to make the directory entries durable
 * (one directory fsync) and to record the messages (one SQLite transaction,
 * which in the running relay skips its own fsync: see src/store/db.ts).
 * Messages that arrive while a commit runs wait for the next one, so
 * concurrent clients share the cost of the directory fsync. A
 * record the store refuses (its server deleted meanwhile, say) fails its own
 * message only: after a refused batch each message is recorded on its own.
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
export function createCommitter(spool: Spool, queue: Pick<QueueRepo, 'insert'>, onCommitted: (messages: NewMessage[]) => void): Committer {
  let waiting: Pending[] = [];
  let running: Promise<void> | null = null;

  /** Records a batch in one transaction; if the store refuses it, each message alone. Returns those recorded. */
  const record = (batch: Pending[]): Pending[] => {
    try {
      queue.insert(batch.map((p) => p.message));
      return batch;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return [];
      }
    }
    return batch.filter((p) => {
      try {
        queue.insert([p.message]);
        return true;
      } catch (err) {
        p.reject(err);
        return false;
      }
    });
  };

  const runBatches = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await spool.syncDirectory();
      } catch (err) {
        // Without the directory fsync no file of the batch is durable.
        for (const p of batch) p.reject(err);
        continue;
      }
      const recorded = record(batch);
      for (const p of recorded) p.resolve();
      if (recorded.length > 0) onCommitted(recorded.map((p) => p.message));
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
