/**
 * Group commit for accepted messages. Each message's earlier chunks were
 * stored while DATA streamed; its record and last chunk are recorded here in
 * one transaction with those of every message waiting, then one fdatasync of
 * the database's write-ahead log makes all of it durable before any of their
 * clients hears 250 (the running relay's commits skip their own fsync: see
 * src/store/db.ts). Messages that arrive while a commit runs wait for the
 * next one, so concurrent clients share the fsync. A record the store
 * refuses (its server deleted meanwhile, say) fails its own message only:
 * after a refused batch each message is recorded on its own.
 */
import type { BodyChunk } from '../store/bodies.js';
import type { NewMessage } from '../store/queue.js';
import type { StoreSlice } from '../store/index.js';

interface Pending {
  message: NewMessage;
  last: BodyChunk;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface Committer {
  /** Resolves once the message is durable: its record and its whole body are on disk. */
  commit(message: NewMessage, last: BodyChunk): Promise<void>;
  /** Resolves after every commit requested so far has finished. */
  drain(): Promise<void>;
}

/** What the committer writes: records with their last chunks, the WAL sync, and the removal of a refused message's chunks. */
export type CommitterStore = StoreSlice<{ queue: 'insert'; database: 'syncWal'; bodies: 'remove' }>;

/** Creates a committer; `onCommitted` runs after each batch (to wake the scheduler). */
export function createCommitter({ queue, database, bodies }: CommitterStore, onCommitted: (messages: NewMessage[]) => void): Committer {
  let waiting: Pending[] = [];
  let running: Promise<void> | null = null;

  /** A message the store refused: its chunks stored during DATA go too. */
  const refuse = async (p: Pending, err: unknown): Promise<void> => {
    try {
      await bodies.remove(p.message.id);
    } catch {
      // Start-up recovery removes chunks without a record.
    }
    p.reject(err);
  };

  /** Records a batch in one transaction; if the store refuses it, each message alone. Returns those recorded. */
  const record = async (batch: Pending[]): Promise<Pending[]> => {
    try {
      await queue.insert(
        batch.map((p) => p.message),
        batch.map((p) => p.last),
      );
      return batch;
    } catch (err) {
      if (batch.length === 1) {
        await refuse(batch[0] as Pending, err);
        return [];
      }
    }
    const recorded: Pending[] = [];
    for (const p of batch) {
      try {
        await queue.insert([p.message], [p.last]);
        recorded.push(p);
      } catch (err) {
        await refuse(p, err);
      }
    }
    return recorded;
  };

  const runBatches = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const recorded = await record(batch);
      if (recorded.length === 0) continue;
      try {
        await database.syncWal();
      } catch (err) {
        // Not known to be on disk: the clients hear 451 and may send again. The records and bodies
        // stay, so such a message may go twice but is never lost.
        for (const p of recorded) p.reject(err);
        continue;
      }
      for (const p of recorded) p.resolve();
      onCommitted(recorded.map((p) => p.message));
    }
  };
  const start = (): void => {
    running ??= runBatches().finally(() => {
      running = null;
      if (waiting.length > 0) start();
    });
  };

  return {
    commit(message, last) {
      const done = new Promise<void>((resolve, reject) => waiting.push({ message, last, resolve, reject }));
      start();
      return done;
    },
    async drain() {
      while (running) await running;
    },
  };
}
