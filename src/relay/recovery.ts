/**
 * Start-up recovery: after a crash the store and the spool are reconciled.
 * Messages that were in flight are queued again (at-least-once delivery),
 * files no record points at are removed (their client never got a 250), and a
 * record whose file is gone is failed and reported.
 */
import type { Logger } from '../log.js';
import type { QueueRepo } from '../store/queue.js';
import type { Spool } from './spool.js';

export interface RecoveryReport {
  requeued: number;
  orphansRemoved: number;
  lost: string[];
}

/** Reconciles queue and spool; call before the listener and scheduler start. */
export async function recover(queue: QueueRepo, spool: Spool, log: Logger, now: number = Date.now()): Promise<RecoveryReport> {
  const requeued = queue.requeueInFlight(now);
  const live = queue.liveIds();
  const files = new Set(spool.list());
  let orphansRemoved = 0;
  for (const id of files) {
    if (live.has(id)) continue;
    await spool.remove(id);
    orphansRemoved++;
  }
  const lost: string[] = [];
  for (const id of live) {
    if (files.has(id)) continue;
    queue.markLost(id, 'spool file missing at start-up; the message cannot be delivered', now);
    lost.push(id);
  }
  const report = { requeued, orphansRemoved, lost };
  if (requeued || orphansRemoved || lost.length) log.info('recovered queue', { ...report, lost: lost.length });
  for (const id of lost) log.error('message lost: its spool file is missing', { queueId: id, alert: true });
  return report;
}
