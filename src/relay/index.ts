/**
 * The relay: spool, committer, SMTP listener and scheduler wired together over
 * one store. `createRelay` builds it; nothing starts until `start()`.
 */
import type { AddressInfo } from 'node:net';
import { dataFolder } from '../data-folder.js';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Hint } from '../auth/hints.js';
import type { Config, TlsVersion } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ALERT_ROUTE } from '../store/alerts.js';
import type { Store } from '../store/index.js';
import type { NewMessage } from '../store/queue.js';
import type { EmailServer } from '../store/servers.js';
import { NOTICE_ROUTE } from './bounce.js';
import { MAX_QUEUE_LIFETIME_MS } from './classify.js';
import { createCommitter } from './committer.js';
import { connectServer, type Connection } from './connect.js';
import { createAccess } from './access.js';
import { createListener, type Listener } from './listener.js';
import { createNotices, type NoticeMail } from './notices.js';
import { createRefusals } from './refusals.js';
import { createRelayAuth } from './relay-auth.js';
import { recover } from './recovery.js';
import { createRetentionTimer } from './retention-timer.js';
import { createClaimLeases } from './claim-leases.js';
import type { DeliveryPace } from './delivery-pace.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { createSpool, queueRecord, type Spool, type SpoolEnvelope } from './spool.js';
import { buildTestMessage, ownSender } from './test-message.js';
import { loadTlsIdentity, type TlsIdentity } from './tls-identity.js';
import { newQueueId } from './trace.js';

export interface RelayOptions {
  config: Config;
  store: Store;
  log: Logger;
  now?: () => number;
  /** How often the scheduler looks for settings changed by the CLI. */
  pollMs?: number;
  /** Prometheus metrics the relay reports to (src/ops/metrics.ts); none when absent. */
  metrics?: Metrics;
  /** How deliveries yield to arriving mail (default: delivery-pace.ts on the machine's clock). */
  pace?: DeliveryPace;
}

export interface TestSendResult {
  ok: boolean;
  reply: string;
  /** The SMTP conversation with the upstream, AUTH redacted. */
  transcript: string[];
  hint: Hint | null;
  messageId: string | null;
  /** Why the test had to wait for the mailbox's limits first (it counts against them like any mail). */
  waited?: string;
}

/** What the panel shows about the SMTP listener (known once it started). */
export interface ListenerInfo {
  smtp: string;
  smtps: string | null;
  certificate: Pick<TlsIdentity, 'generated' | 'fingerprint256' | 'subject' | 'validTo'>;
  /** AUTH offered before STARTTLS too (RELAY365_ALLOW_PLAINTEXT_AUTH). */
  allowPlaintextAuth: boolean;
  tlsMinVersion: TlsVersion;
  /** CIDRs from RELAY365_RELAY_NETWORKS, routed to the default server. */
  relayNetworks: string[];
  maxConnectionsPerClient: number;
  maxConnections: number;
  /** The listeners expect a PROXY protocol header (RELAY365_SMTP_PROXY_PROTOCOL). */
  proxyProtocol: boolean;
}

/** An alert email as the alerts engine words it. */
export interface AlertMail {
  to: string[];
  subject: string;
  text: string;
}

export interface Relay {
  spool: Spool;
  scheduler: Scheduler;
  /** Sends a test email now through the server's real delivery path; it shows in the relay log. */
  sendTest(serverId: number, mail: { to: string; subject: string; body: string }, onWait?: (why: string) => void): Promise<TestSendResult>;
  /**
   * Queues a plain-text alert email to `to` through an email server, like any accepted mail (durable,
   * retried, in the relay log under the route `alerts`); resolves with its queue ID.
   */
  enqueueAlert(serverId: number, mail: AlertMail): Promise<string>;
  /** Makes a deferred or held message due now. */
  retryNow(messageId: string): Promise<boolean>;
  /** Deletes a waiting message and its body. */
  deleteMessage(messageId: string): Promise<boolean>;
  /** Tells the relay that email server settings changed, so held mail is retried at once. */
  settingsChanged(): void;
  /** The listener's addresses, certificate and access settings; null before `start()`. */
  listenerInfo(): ListenerInfo | null;
  /** True while the SMTP listener accepts new clients (started, not draining or stopped). */
  listening(): boolean;
  start(): Promise<{ smtp: AddressInfo; smtps: AddressInfo | null }>;
  /**
   * Graceful stop: SMTP sessions finish their transaction (new ones get `421 4.3.2`), deliveries in
   * flight finish and none starts; then the listener closes. Resolves once all of that is done.
   */
  drain(): Promise<void>;
  /**
   * Cuts short what a drain has not finished: each open SMTP session gets `421 4.3.2`. Returns the
   * sessions cut and the deliveries abandoned (the next start's recovery queues those again).
   */
  abandon(): { sessionsCut: number; deliveriesAbandoned: number };
  stop(): Promise<void>;
}

/** Builds the relay; `start()` recovers the queue, then listens and delivers. */
export function createRelay({ config, store, log, now = Date.now, pollMs, metrics, pace }: RelayOptions): Relay {
  const spool = createSpool(store.bodies);
  const connect = (server: EmailServer): Promise<Connection> => connectServer(server, store, log, now, metrics);
  const notices = createNotices({ store, spool, log, now, enqueue: (mail) => enqueueNotice(mail) });
  const scheduler = createScheduler({ store, spool, log, now, pollMs, connect, metrics, pace, notices });
  const committer = createCommitter(store, () => scheduler.arrived());
  const access = createAccess({ config, store });
  const auth = createRelayAuth({ store, log, now, metrics });
  const retention = createRetentionTimer({ retention: store.retention, log, retentionDays: config.retentionDays, now });
  const leases = createClaimLeases({ store, log, now, requeued: () => void scheduler.poke(), delivering: () => scheduler.delivering() });
  const refusals = createRefusals({ store, log, metrics, now });
  let listener: Listener | null = null;
  let info: ListenerInfo | null = null;
  let stopWalSync = (): void => undefined;
  /** The email server relay365's own mail goes through, the address it comes from, and a new queue ID. */
  const ownMail = async (serverId: number) => {
    const server = await store.servers.get(serverId);
    if (!server) throw new Error(`no email server with id ${serverId}`);
    const receivedAt = now();
    return { server, from: ownSender(server), receivedAt, id: newQueueId(receivedAt) };
  };
  /** Spools and records relay365's own mail (a test email, an alert) as durably as accepted mail. */
  const queueOwnMail = async (
    mail: Awaited<ReturnType<typeof ownMail>>,
    raw: Buffer,
    to: string[],
    origin: Pick<NewMessage, 'clientAddress' | 'clientHelo' | 'route' | 'status'>,
  ): Promise<void> => {
    const { status, ...source } = origin;
    const envelope: SpoolEnvelope = {
      id: mail.id,
      serverId: mail.server.id,
      mailFrom: mail.from,
      recipients: to,
      relayUser: null,
      receivedAt: mail.receivedAt,
      expiresAt: mail.receivedAt + MAX_QUEUE_LIFETIME_MS,
      ...source,
    };
    const file = await spool.write(mail.id, Buffer.alloc(0), Readable.from([raw]));
    await committer.commit({ ...queueRecord(envelope, file), status }, file.last);
  };
  /** Queues a delivery status notification under the queue ID reserved for it when it became owed. */
  const enqueueNotice = async ({ id, serverId, to, raw, regarding }: NoticeMail): Promise<void> => {
    await queueOwnMail({ ...(await ownMail(serverId)), id }, raw, [to], {
      clientAddress: 'relay365',
      clientHelo: `notice for ${regarding}`,
      route: NOTICE_ROUTE,
    });
  };
  const enqueueAlert = async (serverId: number, alert: AlertMail): Promise<string> => {
    const mail = await ownMail(serverId);
    // Auto-Submitted (RFC 3834): auto-responders and mailing lists do not answer it, so no mail loop starts.
    const composer = new MailComposer({
      from: mail.from,
      to: alert.to,
      subject: alert.subject,
      text: alert.text,
      date: new Date(mail.receivedAt),
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Mailer': 'relay365 alerts' },
    });
    await queueOwnMail(mail, await composer.compile().build(), alert.to, {
      clientAddress: 'relay365',
      clientHelo: 'alerts',
      route: ALERT_ROUTE,
    });
    return mail.id;
  };
  const sendTest = async (
    serverId: number,
    mail: { to: string; subject: string; body: string },
    onWait?: (why: string) => void,
  ): Promise<TestSendResult> => {
    const own = await ownMail(serverId);
    const { server, id } = own;
    const raw = await buildTestMessage({ from: own.from, to: mail.to, subject: mail.subject, body: mail.body }, new Date(own.receivedAt));
    await queueOwnMail(own, raw, [mail.to], {
      clientAddress: 'admin panel',
      clientHelo: 'Send Test Email',
      route: 'admin panel',
      status: 'sending',
    });
    const transcript: string[] = [];
    let waited: string | undefined;
    // The admin sees the result: a test email that did not go is not retried later as ordinary mail.
    const giveUp = async (reply: string): Promise<void> => {
      const status = (await store.queue.get(id))?.status;
      if (status === 'delivered' || status === 'failed') return;
      await store.queue.recordAttempt(id, { kind: 'expire', reply: `test email not retried: ${reply}` }, now());
      await spool.remove(id);
    };
    let summary;
    try {
      summary = await scheduler.queueTest(id, transcript, (reason, until) => {
        waited = `Waited for ${reason}${until === null ? '' : ` until ${new Date(until).toISOString()}`}.`;
        log.info('test email waits for the mailbox limits', { queueId: id, server: server.name, reason });
        onWait?.(waited.replace(/^Waited/, 'Waiting'));
      });
    } catch (err) {
      await giveUp((err as Error).message);
      throw err;
    }
    await giveUp(summary.reply);
    return { ...summary, transcript, messageId: id, ...(waited ? { waited } : {}) };
  };

  return {
    spool,
    scheduler,
    sendTest,
    enqueueAlert,
    async retryNow(messageId) {
      const ok = await store.queue.retryNow(messageId, now());
      if (ok) void scheduler.poke();
      return ok;
    },
    // The store deletes the message's body with it.
    deleteMessage: (messageId) => store.queue.remove(messageId, now()),
    settingsChanged: () => scheduler.reload(),
    listenerInfo: () => info,
    listening: () => listener?.listening() ?? false,
    async start() {
      await recover(store, dataFolder(config.dataDir).spool, log, now());
      stopWalSync = await store.database.startWalSync();
      const tls = await loadTlsIdentity(config);
      listener = createListener({ config, servers: store.servers, access, auth, tls, spool, committer, log, now, metrics, refusals });
      const addresses = await listener.start();
      scheduler.start();
      retention.start();
      leases.start();
      void notices.flush();
      const text = (a: AddressInfo): string => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
      info = {
        smtp: text(addresses.smtp),
        smtps: addresses.smtps ? text(addresses.smtps) : null,
        certificate: { generated: tls.generated, fingerprint256: tls.fingerprint256, subject: tls.subject, validTo: tls.validTo },
        allowPlaintextAuth: config.allowPlaintextAuth,
        tlsMinVersion: config.tlsMinVersion,
        relayNetworks: config.relayNetworks.map((c) => c.text),
        maxConnectionsPerClient: config.maxConnectionsPerClient,
        maxConnections: config.maxConnections,
        proxyProtocol: config.smtpProxyProtocol,
      };
      log.info('relay365 listening', {
        smtp: info.smtp,
        smtps: info.smtps,
        certificate: tls.generated ? `self-signed, SHA-256 ${tls.fingerprint256}` : tls.subject,
        relayNetworks: info.relayNetworks.join(',') || 'none',
      });
      return addresses;
    },
    async drain() {
      const sessions = (listener?.drain() ?? Promise.resolve()).then(() => committer.drain());
      // Claims are renewed until the last delivery ends.
      await Promise.all([sessions, scheduler.stop().then(() => Promise.all([notices.stop(), leases.stop()])), retention.stop()]);
      await listener?.close();
      await refusals.flush();
      stopWalSync();
    },
    abandon: () => ({ sessionsCut: listener?.abort() ?? 0, deliveriesAbandoned: scheduler.inFlight() }),
    async stop() {
      await listener?.close();
      await refusals.flush();
      await committer.drain();
      await scheduler.stop();
      await notices.stop();
      await retention.stop();
      await leases.stop();
      stopWalSync();
    },
  };
}
