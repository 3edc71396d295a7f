/**
 * Start-up recovery: after a crash the queue and the message bodies are
 * reconciled. Messages that were in flight are queued again (at-least-once
 * delivery). An earlier version's spool folder moves into the database
 * (spool-folder.ts). Chunks without a waiting message (a client that went away
 * mid-DATA, a crash before the record's commit, a body whose delivery finished
 * just before the crash) are deleted, unless another instance still running
 * on the same database is receiving them: each chunk names its receiver, and
 * an instance joins the cluster before it recovers, so before it receives any.
 * A waiting message without a body cannot be delivered: it is failed and
 * reported.
 */
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import { moveSpoolFolder, type SpoolFolderStore } from './spool-folder.js';

/** What recovery reads and writes. */
export type RecoveryStore = SpoolFolderStore &
  StoreSlice<{ queue: 'bodilessIds' | 'markLost' | 'requeueInFlight'; bodies: 'removeOrphans' }>;

export interface RecoveryReport {
  requeued: number;
  /** Messages recorded again from the files of an earlier version's spool folder. */
  rebuilt: number;
  /** Bodies moved from that folder into the database. */
  moved: number;
  /** Bodies (and spool folder files) that belonged to no waiting message, and that no other running instance is receiving. */
  orphansRemoved: number;
  lost: string[];
}

/** Reconciles the queue and the bodies; `spoolDir` is an earlier version's spool folder. Call before the listener and scheduler start. */
export async function recover(store: RecoveryStore, spoolDir: string, log: Logger, now: number = Date.now()): Promise<RecoveryReport> {
  const { queue, bodies } = store;
  const requeued = await queue.requeueInFlight(now);
  const { rebuilt, moved, removed } = await moveSpoolFolder(store, spoolDir, log);
  const orphansRemoved = removed + (await bodies.removeOrphans(now));
  const lost: string[] = [];
  for (const id of await queue.bodilessIds()) {
    await queue.markLost(id, 'message body missing at start-up; the message cannot be delivered', now);
    lost.push(id);
  }
  const report = { requeued, rebuilt, moved, orphansRemoved, lost };
  if (requeued || rebuilt || moved || orphansRemoved || lost.length) log.info('recovered queue', { ...report, lost: lost.length });
  for (const id of lost) log.error('message lost: its body is missing', { queueId: id, alert: true });
  return report;
}
