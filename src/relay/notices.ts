/**
 * Delivery status notifications on the relay's side. An attempt's outcome
 * that makes a notice owed (recipients failed for good once the message is
 * finished, or a message deferred for hours) records it in the same
 * transaction (`queue.recordOutcome`), with the original header block read
 * from the spool before the spool file goes. Owed notices are then built
 * (bounce.ts) and queued in the background through the same email server,
 * under the queue ID reserved for them, so queueing one again after a crash
 * finds it instead of sending it twice. Never for a null sender, relay365's
 * own mail or automatic mail.
 */
import { hostname } from 'node:os';
import { hintForSmtpReply } from '../auth/hints.js';
import type { Logger } from '../log.js';
import { ALERT_ROUTE } from '../store/alerts.js';
import type { StoreSlice } from '../store/index.js';
import type { OwedNotice } from '../store/notices.js';
import type { AttemptResult, MessageStatus, NoticeCandidate, QueuedMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import { buildNotice, DELAY_NOTICE_AFTER_MS, isAutomatic, NOTICE_ROUTE, type NoticeRecipient } from './bounce.js';
import { leadingHeaderBlock } from './header-block.js';
import type { Spool } from './spool.js';
import { ownSender } from './test-message.js';
import { newQueueId } from './trace.js';

/** Routes of relay365's own mail, which never gets a notice: alerts, Send Test Email (index.ts) and notices. */
const OWN_ROUTES: ReadonlySet<string> = new Set([ALERT_ROUTE, 'admin panel', NOTICE_ROUTE]);
/** The most of a header block a notice carries (what the spool's own header sniffer looks at). */
const HEADER_LIMIT_BYTES = 64 * 1024;
/** Owed notices read at a time. */
const BATCH = 50;

/** A built notice, to be queued like relay365's own mail. */
export interface NoticeMail {
  /** Its reserved queue ID. */
  id: string;
  serverId: number;
  to: string;
  raw: Buffer;
  /** The queue ID of the message it is about. */
  regarding: string;
}

export interface NoticeDeps {
  store: StoreSlice<{
    queue: 'recordAttempt' | 'recordOutcome' | 'anyFailed' | 'notices' | 'get' | 'recipients';
    servers: 'get';
  }>;
  spool: Pick<Spool, 'head'>;
  log: Logger;
  now: () => number;
  /** Queues a notice as durably as accepted mail (index.ts). */
  enqueue: (mail: NoticeMail) => Promise<void>;
}

export interface Notices {
  /**
   * Records an attempt's outcome at `t` and the notice it makes owed in the same transaction, so a
   * crash keeps both or neither; the notice is queued in the background. A notice that cannot be
   * recorded is logged and never undoes the outcome.
   */
  record(server: EmailServer, message: QueuedMessage, result: AttemptResult, t: number): Promise<MessageStatus>;
  /** Queues the notices still owed (at start-up: those a stop or a crash left); never rejects. */
  flush(): Promise<void>;
  /** Lets the notices being queued finish and queues no more. */
  stop(): Promise<void>;
}

/** Creates the notices of one relay. */
export function createNotices({ store, spool, log, now, enqueue }: NoticeDeps): Notices {
  const { queue, servers } = store;
  let running: Promise<void> | null = null;
  /** A notice became owed while a flush ran: flush again after it. */
  let again = false;
  let stopped = false;

  /** The original message's header block as relay365 forwarded it. */
  const readHeaders = async (id: string): Promise<Buffer> => leadingHeaderBlock(await spool.head(id, HEADER_LIMIT_BYTES));

  /**
   * The notice request for an outcome, or null when it can make none owed: failed when the message
   * may finish with a recipient failed for good, delayed when it is deferred after hours (the store
   * decides from the state it records). The original headers come from the spool.
   */
  const candidate = async (
    server: EmailServer,
    message: QueuedMessage,
    result: AttemptResult,
    t: number,
  ): Promise<NoticeCandidate | null> => {
    if (message.mailFrom === '' || OWN_ROUTES.has(message.route ?? '') || result.kind === 'hold') return null;
    const failsSome = async (): Promise<boolean> =>
      result.kind === 'expire' || (result.failed?.length ?? 0) > 0 || (await queue.anyFailed(message.id));
    const failed = server.bounceNotices === 'on' && (await failsSome()) && !(await queue.notices.has(message.id, 'failed'));
    const delayed =
      server.delayNotices === 'on' &&
      result.kind === 'defer' &&
      t - message.receivedAt >= DELAY_NOTICE_AFTER_MS &&
      !(await queue.notices.has(message.id, 'delayed'));
    if (!failed && !delayed) return null;
    let headers: Buffer;
    try {
      headers = await readHeaders(message.id);
    } catch (err) {
      // Without its headers relay365 cannot tell automatic mail: no notice rather than a loop.
      log.warn('no delivery status notification: the message cannot be read', { queueId: message.id, error: (err as Error).message });
      return null;
    }
    return isAutomatic(headers) ? null : { failed, delayed, noticeId: newQueueId(t), headers };
  };

  /** The recipients a notice names: the failed ones with their replies, or those still waiting with the last reply. */
  const recipientsOf = async (owed: OwedNotice, message: QueuedMessage): Promise<NoticeRecipient[]> =>
    (await queue.recipients(message.id))
      .filter((r) => r.status === (owed.kind === 'failed' ? 'failed' : 'pending'))
      .map((r) => {
        const reply = (owed.kind === 'failed' ? r.reply : message.lastReply) ?? '';
        return { address: r.address, reply, hint: hintForSmtpReply(reply) };
      });

  /** Builds and queues one owed notice (unless a crash left it queued already); true when it is done. */
  const send = async (owed: OwedNotice): Promise<boolean> => {
    const what = owed.kind === 'failed' ? 'delivery status notification' : 'delay notice';
    try {
      const message = await queue.get(owed.messageId);
      const server = message?.serverId === null || message === undefined ? undefined : await servers.get(message.serverId);
      if (!message || !server) {
        await queue.notices.done(owed.messageId, owed.kind, `no ${what}: the email server was removed`, now());
        return true;
      }
      const recipients = await recipientsOf(owed, message);
      if (recipients.length === 0) {
        await queue.notices.done(message.id, owed.kind, `no ${what}: no recipient is left waiting`, now());
        return true;
      }
      if (!(await queue.get(owed.noticeId))) {
        const raw = await buildNotice({
          kind: owed.kind,
          from: ownSender(server),
          to: message.mailFrom,
          original: {
            queueId: message.id,
            subject: message.subject,
            messageId: message.headerMessageId,
            receivedAt: message.receivedAt,
            expiresAt: message.expiresAt,
            headers: owed.headers,
          },
          recipients,
          reportingMta: hostname(),
          remoteMta: server.host,
          date: now(),
        });
        await enqueue({ id: owed.noticeId, serverId: server.id, to: message.mailFrom, raw, regarding: message.id });
      }
      await queue.notices.done(message.id, owed.kind, `${what} ${owed.noticeId} to ${message.mailFrom}`, now());
      log.info(`${what} queued`, { queueId: message.id, notice: owed.noticeId, to: message.mailFrom, recipients: recipients.length });
      return true;
    } catch (err) {
      // It stays owed: the next notice, or the next start, tries again.
      log.error(`cannot queue a ${what}`, { alert: true, queueId: owed.messageId, notice: owed.noticeId, error: (err as Error).message });
      return false;
    }
  };

  /** Sends what is owed, a batch at a time while batches go out; what keeps failing waits for the next flush. */
  const drain = async (): Promise<void> => {
    for (let more = true; more && !stopped;) {
      const batch = await queue.notices.owed(BATCH);
      let done = 0;
      for (const owed of batch) if (!stopped && (await send(owed))) done++;
      more = done > 0 && batch.length === BATCH;
    }
  };

  const flush = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    again = false;
    running = drain()
      .catch((err: unknown) => log.error('cannot queue delivery status notifications', { alert: true, error: (err as Error).message }))
      .finally(() => {
        running = null;
        if (again) void flush();
      });
    return running;
  };

  return {
    async record(server, message, result, t) {
      const unrecorded = (error: string): void =>
        log.error('cannot record a delivery status notification', { alert: true, queueId: message.id, error });
      let notice: NoticeCandidate | null = null;
      try {
        notice = await candidate(server, message, result, t);
      } catch (err) {
        unrecorded((err as Error).message);
      }
      if (!notice) return queue.recordAttempt(message.id, result, t);
      const recorded = await queue.recordOutcome(message.id, result, t, notice);
      if (recorded.noticeError !== null) unrecorded(recorded.noticeError);
      if (recorded.owed) void flush();
      return recorded.status;
    },
    flush,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
