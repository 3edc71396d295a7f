/**
 * The SMTP listener legacy apps talk to. smtp-server owns the protocol; this
 * module implements its hooks: who may relay, address checks, and DATA, which
 * streams into the spool and answers 250 only once the message is durable.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { Config, ListenAddress } from '../config.js';
import type { Logger } from '../log.js';
import type { EmailServer, ServerRepo } from '../store/servers.js';
import { mayRelay } from './access.js';
import type { Committer } from './committer.js';
import { MAX_QUEUE_LIFETIME_MS } from './classify.js';
import { REPLIES } from './smtp-error.js';
import { RelaySmtpServer } from './smtp-server.js';
import type { Spool } from './spool.js';
import { newQueueId, receivedHeader } from './trace.js';

/** Microsoft accepts at most 500 recipients per message (MICROSOFT.md). */
export const MAX_RECIPIENTS = 500;
/** An idle client is disconnected after this long (Postfix waits 300 s; legacy apps send at once or not at all). */
const SOCKET_TIMEOUT_MS = 60_000;
const MAX_CLIENTS = 200;
const ROUTING_CACHE_MS = 1_000;

/** Address syntax we accept: local@domain, no spaces or brackets. Empty is the null sender. */
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+(?:\.[^\s@<>()[\]\\,;:"]+)*@[^\s@<>()[\]\\,;:"]+$/u;

export interface ListenerDeps {
  config: Config;
  servers: ServerRepo;
  spool: Spool;
  committer: Committer;
  log: Logger;
  now?: () => number;
  /** Idle time before a client is disconnected; default 60 s. */
  socketTimeoutMs?: number;
}

export interface Listener {
  /** Starts the configured listeners; resolves with their bound addresses. */
  start(): Promise<{ smtp: AddressInfo; smtps: AddressInfo | null }>;
  close(): Promise<void>;
}

/** Turns an async hook into smtp-server's callback style, at this edge only. */
function hook<A, B, R>(fn: (a: A, b: B) => Promise<R>) {
  return (a: A, b: B, callback: (err?: Error | null, result?: R) => void): void => {
    fn(a, b).then(
      (result) => callback(null, result),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  };
}

/** Creates the SMTP (and optional implicit-TLS) listener. */
export function createListener({
  config,
  servers,
  spool,
  committer,
  log,
  now = Date.now,
  socketTimeoutMs = SOCKET_TIMEOUT_MS,
}: ListenerDeps): Listener {
  const tls =
    config.tlsCertFile && config.tlsKeyFile ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) } : null;
  const name = osHostname();
  // The default server is looked up once a second, not once per message.
  let routing: { server: EmailServer | undefined; at: number } | null = null;
  const defaultServer = (): EmailServer | undefined => {
    const t = performance.now();
    if (!routing || t - routing.at > ROUTING_CACHE_MS) routing = { server: servers.getDefault(), at: t };
    return routing.server;
  };

  const onMailFrom = async (address: SMTPServerAddress, _session: SMTPServerSession): Promise<void> => {
    if (address.address !== '' && !ADDRESS.test(address.address)) throw REPLIES.badSender();
  };

  const onRcptTo = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<void> => {
    if (!mayRelay(session.remoteAddress)) throw REPLIES.relayDenied();
    if (!ADDRESS.test(address.address)) throw REPLIES.badRecipient();
  };

  const onData = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> => {
    const server = defaultServer();
    const receivedAt = now();
    const queueId = newQueueId(receivedAt);
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    if (!server) {
      stream.resume();
      throw REPLIES.noServer();
    }
    const prefix = receivedHeader({
      queueId,
      helo: session.hostNameAppearsAs,
      clientAddress: session.remoteAddress,
      clientHostname: null,
      hostname: name,
      secure: session.secure,
      authenticated: Boolean(session.user),
      recipients,
      date: new Date(receivedAt),
    });
    let file;
    try {
      file = await spool.write(queueId, prefix, stream);
    } catch (err) {
      // The client went away mid-DATA (nothing to answer) or the disk failed.
      log.warn('message not stored', { queueId, client: session.remoteAddress, error: (err as Error).message });
      throw REPLIES.storageFailed();
    }
    if (stream.sizeExceeded) {
      await spool.remove(queueId);
      throw REPLIES.tooBig(config.maxMessageSize);
    }
    try {
      await committer.commit({
        id: queueId,
        serverId: server.id,
        mailFrom,
        recipients,
        size: file.size,
        subject: file.headers.subject,
        headerMessageId: file.headers.messageId,
        clientAddress: session.remoteAddress,
        clientHelo: session.hostNameAppearsAs,
        receivedAt,
        expiresAt: receivedAt + MAX_QUEUE_LIFETIME_MS,
      });
    } catch (err) {
      log.error('message not recorded', { queueId, error: (err as Error).message });
      await spool.remove(queueId);
      throw REPLIES.storageFailed();
    }
    log.info('message queued', { queueId, server: server.name, from: mailFrom, recipients: recipients.length, size: file.size });
    return `2.0.0 Ok: queued as ${queueId}`;
  };

  const options = (secure: boolean): SMTPServerOptions => ({
    name,
    banner: 'relay365 ESMTP ready',
    secure,
    ...(tls ?? {}),
    size: config.maxMessageSize,
    maxRecipients: MAX_RECIPIENTS,
    maxClients: MAX_CLIENTS,
    socketTimeout: socketTimeoutMs,
    closeTimeout: 5_000,
    authOptional: true,
    // SMTP AUTH for relay users comes with access control; STARTTLS needs a certificate.
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    logger: false,
    onMailFrom: hook(onMailFrom),
    onRcptTo: hook(onRcptTo),
    onData: hook(onData),
  });

  const running: RelaySmtpServer[] = [];
  const listen = (server: RelaySmtpServer, at: ListenAddress): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      server.on('error', (err: Error) => log.warn('smtp listener error', { error: err.message }));
      const refuse = (err: NodeJS.ErrnoException): void =>
        reject(new Error(`SMTP listener cannot listen on ${at.host}:${at.port}: ${err.code ?? err.message}`));
      server.server.once('error', refuse);
      server.listen(at.port, at.host, () => {
        server.server.off('error', refuse);
        resolve(server.server.address() as AddressInfo);
      });
    });

  return {
    async start() {
      const plain = new RelaySmtpServer(options(false));
      running.push(plain);
      const smtp = await listen(plain, config.smtpListen);
      let smtps: AddressInfo | null = null;
      if (config.smtpsListen) {
        const implicit = new RelaySmtpServer(options(true));
        running.push(implicit);
        smtps = await listen(implicit, config.smtpsListen);
      }
      return { smtp, smtps };
    },
    async close() {
      await Promise.all(running.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
