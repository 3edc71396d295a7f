/**
 * The runner: one attempt from claim to outcome. The attempt holds one lease
 * (lane.ts) that counts it in its lane, its server and its link from start
 * to end; the upstream (upstream.ts) delivers and reports, the outcomes
 * record what happened. A test email is an attempt like any other, on a
 * connection of its own that records the conversation.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import type { QueuedMessage } from '../store/queue.js';
import { countGraphUse, takeLease, type Lane, type Link, type Member } from './lane.js';
import type { Attempt, AttemptSummary, Outcomes } from './outcomes.js';
import { applySenderPolicy } from './sender-policy.js';
import type { Spool } from './spool.js';
import { toDeliveryError, type DeliveryError, type SendResult, type UpstreamUsage } from './upstream.js';

/** One attempt to run: a claimed message, the recipients reserved for it, and where it goes. */
export interface Work {
  member: Member;
  /** Null when the server cannot be connected (its `connError` says why). */
  link: Link | null;
  message: QueuedMessage;
  /** The daily quota reservation made at the claim. */
  reservation: { id: number; recipients: number };
  /** Send Test Email: the attempt owns the lane, on a connection of its own that records the conversation here. */
  transcript?: string[];
}

export interface RunnerDeps {
  store: StoreSlice<{ queue: 'pendingRecipients'; laneState: 'settle' }>;
  spool: Pick<Spool, 'read'>;
  log: Logger;
  now: () => number;
  outcomes: Pick<Outcomes, 'settleRecipients' | 'settleFailure' | 'markWorking'>;
  /** False once the attempt's server changed its settings (or was removed) while it ran. */
  isCurrent: (attempt: Attempt) => boolean;
  /** Told when an attempt ended and gave its lease back. */
  ended: (lane: Lane) => void;
}

export interface Runner {
  /** Runs one attempt; its lease is taken before this returns. Never rejects. */
  run(work: Work): Promise<AttemptSummary>;
  /** The messages with an attempt running (their claims are renewed while it runs). */
  delivering(): string[];
}

/** Creates the runner. */
export function createRunner({ store, spool, log, now, outcomes, isCurrent, ended }: RunnerDeps): Runner {
  const { queue, laneState } = store;

  /** What the upstream answered, or how the attempt failed. */
  const deliver = async ({ member, link, message, transcript }: Work): Promise<SendResult> => {
    if (!link) throw member.connError;
    // From Address Handling `rewrite` changes the envelope sender and the bytes on the way out; the spool keeps them as received.
    const { from, raw } = applySenderPolicy(member.server, message.mailFrom, (): Readable => spool.read(message.id));
    const envelope = {
      from,
      to: await queue.pendingRecipients(message.id),
      queueId: message.id,
      body8bit: message.body8bit,
      size: message.size,
    };
    const { upstream } = link.conn;
    return transcript ? upstream.sendWithTranscript(envelope, raw, transcript) : upstream.send(envelope, raw);
  };

  const running = new Set<string>();

  const run = async (work: Work): Promise<AttemptSummary> => {
    const { member, link, message, reservation } = work;
    running.add(message.id);
    const lease = takeLease(member, link, work.transcript !== undefined, message.size);
    const attempt: Attempt = { member, conn: link?.conn ?? null, generation: member.generation };
    let summary: AttemptSummary = { ok: false, reply: 'the relay could not record this attempt', hint: null };
    let usage: UpstreamUsage | undefined;
    try {
      let result: SendResult | null = null;
      let error: DeliveryError | null = null;
      try {
        result = await deliver(work);
      } catch (err) {
        error = toDeliveryError(err);
      }
      usage = result?.usage ?? error?.usage;
      await laneState.settle(reservation.id, reservation.recipients, result?.accepted.length ?? 0);
      if (result) {
        if (isCurrent(attempt)) await outcomes.markWorking(member, attempt.conn);
        summary = await outcomes.settleRecipients(attempt, message, result.accepted, result.rejected);
      } else {
        summary = await outcomes.settleFailure(attempt, message, error as DeliveryError);
      }
    } catch (err) {
      log.error('cannot record a delivery attempt', {
        alert: true,
        queueId: message.id,
        server: member.server.name,
        error: (err as Error).message,
      });
    } finally {
      // Microsoft counts a message when it arrives, which is before this moment.
      const end = now();
      lease.lane.ends.push(end);
      countGraphUse(lease, end, usage);
      lease.release();
      running.delete(message.id);
      ended(lease.lane);
    }
    return summary;
  };

  return { run, delivering: () => [...running] };
}
