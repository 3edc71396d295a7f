/**
 * Start-up recovery: after a crash the store and the spool are reconciled.
 * Messages that were in flight are queued again (at-least-once delivery).
 * Unfinished files (`.tmp`: their client never got a 250) are removed. A
 * complete file without any record is a message whose record a power cut
 * undid (the store commits without its own fsync; the spool file is the
 * durable copy): its record is rebuilt from the file's envelope. A file whose
 * message is already done, and an old file without an envelope, is removed.
 * A record whose file is gone is failed and reported.
 */
import type { Logger } from '../log.js';
import type { QueueRepo } from '../store/queue.js';
import type { Spool } from './spool.js';

/** What recovery reads and writes of the queue. */
export type RecoveryQueue = Pick<QueueRepo, 'get' | 'insert' | 'liveIds' | 'markLost' | 'requeueInFlight'>;

export interface RecoveryReport {
  requeued: number;
  /** Messages recorded again from their spool files. */
  rebuilt: number;
  unfinishedRemoved: number;
  orphansRemoved: number;
  lost: string[];
}

/** Reconciles queue and spool; call before the listener and scheduler start. */
export async function recover(queue: RecoveryQueue, spool: Spool, log: Logger, now: number = Date.now()): Promise<RecoveryReport> {
  const requeued = queue.requeueInFlight(now);
  const unfinishedRemoved = await spool.removeUnfinished();
  const live = queue.liveIds();
  const files = new Set(spool.list());
  let rebuilt = 0;
  let orphansRemoved = 0;
  for (const id of files) {
    if (live.has(id)) continue;
    if (queue.get(id) === undefined && (await rebuild(queue, spool, log, id))) {
      rebuilt++;
      live.add(id);
      continue;
    }
    await spool.remove(id);
    orphansRemoved++;
  }
  const lost: string[] = [];
  for (const id of live) {
    if (files.has(id)) continue;
    queue.markLost(id, 'spool file missing at start-up; the message cannot be delivered', now);
    lost.push(id);
  }
  const report = { requeued, rebuilt, unfinishedRemoved, orphansRemoved, lost };
  if (requeued || rebuilt || unfinishedRemoved || orphansRemoved || lost.length)
    log.info('recovered queue', { ...report, lost: lost.length });
  for (const id of lost) log.error('message lost: its spool file is missing', { queueId: id, alert: true });
  return report;
}

/** Records a complete spool file's message again from its envelope; false when it cannot be. */
async function rebuild(queue: Pick<QueueRepo, 'insert'>, spool: Spool, log: Logger, id: string): Promise<boolean> {
  try {
    const record = await spool.record(id);
    if (!record) return false;
    queue.insert([record]);
    log.warn('message recorded again from its spool file', { queueId: id, recipients: record.recipients.length });
    return true;
  } catch (err) {
    // Its email server was deleted meanwhile, or the file is damaged: it cannot be delivered.
    log.error('spool file without a record could not be recorded again; removed', {
      queueId: id,
      alert: true,
      error: (err as Error).message,
    });
    return false;
  }
}
