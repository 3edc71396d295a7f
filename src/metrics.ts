/**
 * relay365's Prometheus metrics: one prom-client Registry per relay, made by
 * `createMetrics` (nothing is registered at import time, and prom-client's
 * global registry is never used). The relay and the token provider report
 * events through the methods here; what lives in the store (queue depth,
 * sizes, secret expiry, server status) is set from a `StoreSample` taken when
 * /metrics is scraped. Labels stay low-cardinality: email server names,
 * statuses, reply classes and codes, never addresses or message IDs.
 *
 * A leaf module: it imports prom-client only, so relay and auth can use it.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a delivery attempt did to a message, as counted per email server. */
export type MessageOutcome = 'delivered' | 'failed' | 'deferred' | 'held';

/** Why an SMTP AUTH login was refused. */
export type AuthFailureReason = 'unknown_user' | 'wrong_password' | 'user_disabled' | 'locked_out';

/** What the store and the data folder hold, read at scrape time. */
export interface StoreSample {
  /** Waiting messages per email server name and status (queued, deferred, sending, held). */
  queue: { server: string; status: string; messages: number }[];
  /** Age of the oldest waiting message in seconds, 0 when nothing waits. */
  oldestWaitingSeconds: number;
  spoolBytes: number;
  databaseBytes: number;
  /** Each email server's status (`authorized`, `not_authorized`, `error`). */
  servers: { server: string; status: string }[];
  /** When each Office 365 server's client secret stops working, in seconds since the epoch (servers that sign in with it). */
  secretExpiries: { server: string; expiresAt: number }[];
  /** When each Office 365 server's client certificate stops working (its notAfter), in seconds since the epoch. */
  certificateExpiries: { server: string; expiresAt: number }[];
}

/** The status values `relay365_server_status` always lists, so that a 0 is there to compare with. */
export const SERVER_STATUSES = ['authorized', 'not_authorized', 'error'] as const;

/** Delivery latency buckets, in seconds: a second up to a day (the retry schedule reaches hours). */
export const LATENCY_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400];

export interface BuildInfo {
  version: string;
  nodeVersion: string;
  /** This instance's id (RELAY365_INSTANCE_ID), which tells the members of a cluster apart. */
  instanceId: string;
}

export interface Metrics {
  /** The Prometheus text format's content type. */
  readonly contentType: string;
  /** A message was accepted (250 after DATA) for `server`. */
  messageAccepted(server: string): void;
  /** A delivery attempt ended with the message delivered, failed, deferred or held. */
  messageSettled(server: string, outcome: MessageOutcome): void;
  /** A message was delivered `seconds` after it was accepted. */
  deliveryLatency(server: string, seconds: number): void;
  /** The upstream answered with `reply` (its code class and enhanced status code are counted). */
  upstreamReply(server: string, code: number, reply: string): void;
  /** A request reached the token endpoint; `code` is the AADSTS (or OAuth) code of an error. */
  tokenRequest(server: string, result: 'ok' | 'error', code?: string): void;
  smtpSessionOpened(): void;
  smtpSessionClosed(): void;
  authFailure(reason: AuthFailureReason): void;
  /** A client address was locked out of SMTP AUTH. */
  authLockout(): void;
  /** An SMTP session or transaction was refused; `reason` is one of src/relay/refusals.ts's reasons. */
  refused(reason: string): void;
  /** Sets the scrape-time gauges from `sample` and renders every metric in the text format. */
  render(sample: StoreSample): Promise<string>;
}

/** `5.7.139` from `535 5.7.139 Authentication unsuccessful`, or `none`. */
export function enhancedCode(reply: string): string {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1] ?? 'none';
}

/** `2xx`, `4xx`, `5xx` (anything else: `other`). */
export function codeClass(code: number): string {
  return Number.isInteger(code) && code >= 200 && code < 600 ? `${Math.floor(code / 100)}xx` : 'other';
}

/** Creates the metrics over a registry of their own. */
export function createMetrics(build: BuildInfo): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const perServer = (outcome: string, help: string): Counter<'server'> =>
    new Counter({ name: `relay365_messages_${outcome}_total`, help, labelNames: ['server'], registers });

  const accepted = perServer('accepted', 'Messages accepted from SMTP clients (answered 250), per email server.');
  const settled: Record<MessageOutcome, Counter<'server'>> = {
    delivered: perServer('delivered', 'Messages delivered to every recipient that was not refused, per email server.'),
    failed: perServer('failed', 'Messages that failed for good (permanent reply or queue lifetime over), per email server.'),
    deferred: perServer('deferred', 'Delivery attempts that ended with the message deferred for a retry, per email server.'),
    held: perServer('held', 'Delivery attempts that ended with the message held for an authorization problem, per email server.'),
  };
  const latency = new Histogram({
    name: 'relay365_delivery_latency_seconds',
    help: 'Time from accepting a message to delivering it, per email server.',
    labelNames: ['server'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const replies = new Counter({
    name: 'relay365_upstream_replies_total',
    help: 'Replies of the upstream SMTP server to delivery attempts, by code class and enhanced status code.',
    labelNames: ['server', 'class', 'enhanced_code'],
    registers,
  });
  const tokens = new Counter({
    name: 'relay365_token_requests_total',
    help: 'Requests that reached the token endpoint, by result and AADSTS (or OAuth) error code.',
    labelNames: ['server', 'result', 'code'],
    registers,
  });
  const sessions = new Counter({ name: 'relay365_smtp_sessions_total', help: 'SMTP connections opened by clients.', registers });
  const activeSessions = new Gauge({ name: 'relay365_smtp_sessions_active', help: 'SMTP connections open now.', registers });
  const authFailures = new Counter({
    name: 'relay365_smtp_auth_failures_total',
    help: 'Refused SMTP AUTH logins of relay users, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const lockouts = new Counter({
    name: 'relay365_smtp_auth_lockouts_total',
    help: 'Client addresses locked out of SMTP AUTH after repeated failures.',
    registers,
  });
  const refusals = new Counter({
    name: 'relay365_refused_total',
    help: 'SMTP sessions and transactions refused (relaying denied, too big, TLS failed, too many connections, ...), by reason.',
    labelNames: ['reason'],
    registers,
  });
  const queue = new Gauge({
    name: 'relay365_queue_messages',
    help: 'Messages waiting, per email server and status (queued, deferred, sending, held).',
    labelNames: ['server', 'status'],
    registers,
  });
  const oldest = new Gauge({
    name: 'relay365_queue_oldest_message_age_seconds',
    help: 'Age of the oldest waiting message (0 when nothing waits).',
    registers,
  });
  const spool = new Gauge({ name: 'relay365_spool_bytes', help: 'Bytes of the waiting messages, as received.', registers });
  const database = new Gauge({ name: 'relay365_database_bytes', help: 'Bytes of the SQLite database and its write-ahead log.', registers });
  const serverStatus = new Gauge({
    name: 'relay365_server_status',
    help: "Each email server's status: 1 for the current one (authorized, not_authorized, error), 0 for the others.",
    labelNames: ['server', 'status'],
    registers,
  });
  const secretExpiry = new Gauge({
    name: 'relay365_client_secret_expiry_timestamp_seconds',
    help: 'When the Office 365 client secret stops working (end of its expiry day, UTC), per email server that signs in with it.',
    labelNames: ['server'],
    registers,
  });
  const certificateExpiry = new Gauge({
    name: 'relay365_client_certificate_expiry_timestamp_seconds',
    help: 'When the Office 365 client certificate stops working (its notAfter), per email server that has one.',
    labelNames: ['server'],
    registers,
  });
  new Gauge({
    name: 'relay365_build_info',
    help: 'Always 1; the labels name the relay365 version, the Node.js version and the instance id.',
    labelNames: ['version', 'node_version', 'instance_id'],
    registers,
  }).set({ version: build.version, node_version: build.nodeVersion, instance_id: build.instanceId }, 1);

  const update = (sample: StoreSample): void => {
    queue.reset();
    for (const row of sample.queue) queue.inc({ server: row.server, status: row.status }, row.messages);
    oldest.set(sample.oldestWaitingSeconds);
    spool.set(sample.spoolBytes);
    database.set(sample.databaseBytes);
    serverStatus.reset();
    for (const { server, status } of sample.servers) {
      for (const s of SERVER_STATUSES) serverStatus.set({ server, status: s }, s === status ? 1 : 0);
      // Each server's counters exist from the first scrape, so rate() and increase() see their first event.
      for (const counter of [accepted, ...Object.values(settled)]) counter.inc({ server }, 0);
    }
    secretExpiry.reset();
    for (const { server, expiresAt } of sample.secretExpiries) secretExpiry.set({ server }, expiresAt);
    certificateExpiry.reset();
    for (const { server, expiresAt } of sample.certificateExpiries) certificateExpiry.set({ server }, expiresAt);
  };

  return {
    contentType: registry.contentType,
    messageAccepted: (server) => accepted.inc({ server }),
    messageSettled: (server, outcome) => settled[outcome].inc({ server }),
    deliveryLatency: (server, seconds) => latency.observe({ server }, Math.max(0, seconds)),
    upstreamReply: (server, code, reply) => replies.inc({ server, class: codeClass(code), enhanced_code: enhancedCode(reply) }),
    tokenRequest: (server, result, code) => tokens.inc({ server, result, code: result === 'ok' ? 'none' : (code ?? 'unknown') }),
    smtpSessionOpened: () => {
      sessions.inc();
      activeSessions.inc();
    },
    smtpSessionClosed: () => activeSessions.dec(),
    authFailure: (reason) => authFailures.inc({ reason }),
    authLockout: () => lockouts.inc(),
    refused: (reason) => refusals.inc({ reason }),
    async render(sample) {
      update(sample);
      return registry.metrics();
    },
  };
}
