/**
 * The SMTP listener legacy apps talk to. smtp-server owns the protocol; this
 * module implements its hooks: connection limits, relay users' AUTH, who may
 * relay and where to (src/relay/access.ts), the sender policy, address checks,
 * the free-space guard, and DATA, which streams into the spool and answers 250
 * only once the message is durable.
 */
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import type { Config, ListenAddress } from '../config.js';
import { listenRefusal } from '../listen-refusal.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { fromAllowed } from '../store/access-schemas.js';
import type { EmailServer, ServerRepo } from '../store/servers.js';
import { RULES_CACHE_MS, type Access, type Route, type SessionUser } from './access.js';
import type { Committer } from './committer.js';
import { MAX_QUEUE_LIFETIME_MS } from './classify.js';
import { createFreeSpaceGuard, type FreeSpaceProbe } from './free-space.js';
import type { RelayAuth } from './relay-auth.js';
import { headerFromAddresses, maySendAs, senderRefusal } from './sender-policy.js';
import { REPLIES } from './smtp-error.js';
import { RelaySmtpServer } from './smtp-server.js';
import { MessageTooBigError, queueRecord, type Spool, type SpoolEnvelope } from './spool.js';
import type { TlsIdentity } from './tls-identity.js';
import { newQueueId, receivedHeader } from './trace.js';

/** Microsoft accepts at most 500 recipients per message (MICROSOFT.md). */
export const MAX_RECIPIENTS = 500;
/** An idle client is disconnected after this long (Postfix waits 300 s; legacy apps send at once or not at all). */
const SOCKET_TIMEOUT_MS = 60_000;
const MAX_CLIENTS = 200;

/** What MAIL FROM decided for a transaction: who routes it where (null: the default server, and there is none). */
interface Transaction {
  route: Route;
  server: EmailServer | null;
}

/** The From header breaks the sender policy; the message is refused before it is made durable. */
class SenderRefusal extends Error {}

/** Address syntax we accept: local@domain, no spaces or brackets. Empty is the null sender. */
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+(?:\.[^\s@<>()[\]\\,;:"]+)*@[^\s@<>()[\]\\,;:"]+$/u;

export interface ListenerDeps {
  config: Config;
  servers: ServerRepo;
  access: Access;
  auth: RelayAuth;
  tls: TlsIdentity;
  spool: Spool;
  committer: Committer;
  log: Logger;
  now?: () => number;
  /** Idle time before a client is disconnected; default 60 s. */
  socketTimeoutMs?: number;
  /** Free bytes in the data folder; statfs unless a test injects one. */
  freeSpace?: FreeSpaceProbe;
  /** Counts sessions and accepted messages when given. */
  metrics?: Metrics;
}

export interface Listener {
  /** Starts the configured listeners; resolves with their bound addresses. */
  start(): Promise<{ smtp: AddressInfo; smtps: AddressInfo | null }>;
  /**
   * Graceful stop, still listening: new connections and sessions outside a mail transaction get
   * `421 4.3.2`, a transaction in progress finishes first. Resolves once no session is open.
   */
  drain(): Promise<void>;
  /** Ends every open session now with `421 4.3.2`; returns how many were cut. */
  abort(): number;
  /** SMTP sessions open now. */
  sessions(): number;
  /** True while listening and not draining: new clients can hand over mail. */
  listening(): boolean;
  close(): Promise<void>;
}

/** Turns an async hook into smtp-server's callback style, at this edge only. */
function hook<Args extends unknown[], R>(fn: (...args: Args) => Promise<R>) {
  return (...args: [...Args, (err?: Error | null, result?: R) => void]): void => {
    const callback = args.pop() as (err?: Error | null, result?: R) => void;
    fn(...(args as unknown as Args)).then(
      (result) => callback(null, result),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  };
}

/** Creates the SMTP (and optional implicit-TLS) listener. */
export function createListener({
  config,
  servers,
  access,
  auth,
  tls,
  spool,
  committer,
  log,
  now = Date.now,
  socketTimeoutMs = SOCKET_TIMEOUT_MS,
  freeSpace,
  metrics,
}: ListenerDeps): Listener {
  const name = osHostname();
  const disk = createFreeSpaceGuard({ dir: config.dataDir, minFree: config.minFreeSpace, probe: freeSpace, now, log });
  /** Each transaction's route and its email server, found once at MAIL FROM and used again at RCPT and DATA. */
  const routes = new WeakMap<SMTPServerSession, Transaction>();
  /**
   * Email servers as read from the store at most once a second, like the access rules: reading and
   * decoding a server's settings for every message took a twentieth of the accept path's time. A
   * server deleted meanwhile is caught when the message is recorded (the client gets a 451).
   */
  const serverCache = new Map<number, { server: EmailServer | null; at: number }>();
  const serverOf = (id: number): EmailServer | null => {
    const t = performance.now();
    const cached = serverCache.get(id);
    if (cached && t - cached.at <= RULES_CACHE_MS) return cached.server;
    const server = servers.get(id) ?? null;
    serverCache.set(id, { server, at: t });
    return server;
  };
  // Open sessions per client address, for RELAY365_MAX_CONNECTIONS_PER_CLIENT.
  const perClient = new Map<string, Set<string>>();
  const sessionUser = (session: SMTPServerSession): SessionUser | null => (session.user as SessionUser | undefined) ?? null;

  const onConnect = async (session: SMTPServerSession): Promise<void> => {
    const open = perClient.get(session.remoteAddress) ?? new Set<string>();
    perClient.set(session.remoteAddress, open);
    open.add(session.id);
    metrics?.smtpSessionOpened();
    if (open.size > config.maxConnectionsPerClient) {
      log.warn('too many connections from one client', { client: session.remoteAddress, limit: config.maxConnectionsPerClient });
      throw REPLIES.tooManyConnections(config.maxConnectionsPerClient);
    }
  };

  const onClose = (session: SMTPServerSession): void => {
    const open = perClient.get(session.remoteAddress);
    if (!open?.delete(session.id)) return;
    metrics?.smtpSessionClosed();
    if (open.size === 0) perClient.delete(session.remoteAddress);
  };

  const onAuth = async (login: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> => {
    const user = await auth.login(session.remoteAddress, login.username ?? '', login.password ?? '');
    return { user };
  };

  const onMailFrom = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<void> => {
    routes.delete(session);
    if (address.address !== '' && !ADDRESS.test(address.address)) throw REPLIES.badSender();
    if (!(await disk.hasRoom())) throw REPLIES.insufficientStorage();
    const route = access.route(session.remoteAddress, sessionUser(session));
    if (!route) {
      log.info('relaying refused: not logged in and no allowed network', { client: session.remoteAddress });
      throw REPLIES.authRequired();
    }
    const server = route.serverId === null ? null : serverOf(route.serverId);
    if (route.relayUser && !fromAllowed(route.relayUser.allowFrom, address.address)) {
      throw REPLIES.senderNotAllowed(`Sender <${address.address}> is not allowed for relay user ${route.relayUser.name}`);
    }
    if (server?.fromHandling === 'reject' && !maySendAs(server, address.address)) {
      throw REPLIES.senderNotAllowed(senderRefusal(server, address.address));
    }
    routes.set(session, { route, server });
  };

  const onRcptTo = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<void> => {
    if (!routes.has(session)) throw REPLIES.relayDenied();
    if (!ADDRESS.test(address.address)) throw REPLIES.badRecipient();
  };

  /** Every address in the From header must pass the same checks as MAIL FROM; null when they do. */
  const headerRefusal = ({ route, server }: Transaction, from: string | null): string | null => {
    const addresses = from === null ? [] : headerFromAddresses(from);
    const user = route.relayUser;
    if (user && user.allowFrom.length > 0) {
      const bad = addresses.find((a) => !fromAllowed(user.allowFrom, a));
      if (bad !== undefined || addresses.length === 0)
        return `From header ${bad ? `<${bad}> ` : ''}is not allowed for relay user ${user.name}`;
    }
    if (server?.fromHandling === 'reject') {
      const bad = addresses.find((a) => !maySendAs(server, a));
      if (bad !== undefined || addresses.length === 0) return senderRefusal(server, bad ?? '');
    }
    return null;
  };

  const onData = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> => {
    const transaction = routes.get(session);
    const receivedAt = now();
    const queueId = newQueueId(receivedAt);
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    if (!transaction?.server) {
      stream.resume();
      throw transaction ? REPLIES.noServer() : REPLIES.relayDenied();
    }
    const { route, server } = transaction;
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
    const envelope: SpoolEnvelope = {
      id: queueId,
      serverId: server.id,
      mailFrom,
      recipients,
      clientAddress: session.remoteAddress,
      clientHelo: session.hostNameAppearsAs,
      route: route.label,
      relayUser: route.relayUser?.name ?? null,
      receivedAt,
      expiresAt: receivedAt + MAX_QUEUE_LIFETIME_MS,
    };
    let file;
    try {
      // The spool stops writing at the limit: an oversize message never takes more disk than the limit.
      file = await spool.write(envelope, prefix, stream, config.maxMessageSize, (headers) => {
        const reason = headerRefusal(transaction, headers.from);
        if (reason) throw new SenderRefusal(reason);
      });
    } catch (err) {
      if (err instanceof MessageTooBigError) throw REPLIES.tooBig(config.maxMessageSize);
      if (err instanceof SenderRefusal) {
        log.info('message refused by sender policy', { queueId, client: session.remoteAddress, route: route.label, reason: err.message });
        throw REPLIES.senderNotAllowed(err.message);
      }
      // The client went away mid-DATA (nothing to answer) or the disk failed.
      log.warn('message not stored', { queueId, client: session.remoteAddress, error: (err as Error).message });
      throw REPLIES.storageFailed();
    }
    try {
      await committer.commit(queueRecord(envelope, file));
    } catch (err) {
      log.error('message not recorded', { queueId, error: (err as Error).message });
      await spool.remove(queueId);
      throw REPLIES.storageFailed();
    }
    metrics?.messageAccepted(server.name);
    log.info('message queued', {
      queueId,
      server: server.name,
      route: route.label,
      from: mailFrom,
      recipients: recipients.length,
      size: file.size,
    });
    return `2.0.0 Ok: queued as ${queueId}`;
  };

  const options = (secure: boolean): SMTPServerOptions => ({
    name,
    banner: 'relay365 ESMTP ready',
    secure,
    cert: tls.cert,
    key: tls.key,
    minVersion: config.tlsMinVersion,
    // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; an admin who asks for them means it.
    ...(config.tlsMinVersion === 'TLSv1' || config.tlsMinVersion === 'TLSv1.1' ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    size: config.maxMessageSize,
    maxRecipients: MAX_RECIPIENTS,
    maxClients: MAX_CLIENTS,
    socketTimeout: socketTimeoutMs,
    closeTimeout: 5_000,
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    // AUTH only once the password cannot be read off the wire, unless the admin allows it (see smtp-server.ts).
    allowInsecureAuth: config.allowPlaintextAuth,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    logger: false,
    onConnect: hook(onConnect),
    onClose,
    onAuth: hook(onAuth),
    onMailFrom: hook(onMailFrom),
    onRcptTo: hook(onRcptTo),
    onData: hook(onData),
  });

  const running: RelaySmtpServer[] = [];
  let draining = false;
  /** Binds one listener; a refusal is a ConfigError naming the variable and the address, for one line at start-up. */
  const listen = (secure: boolean, variable: string, at: ListenAddress): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      const server = new RelaySmtpServer(options(secure));
      server.on('error', (err: Error) => log.warn('smtp listener error', { error: err.message }));
      const refuse = (err: NodeJS.ErrnoException): void => reject(listenRefusal(variable, at, err.code ?? err.message));
      server.server.once('error', refuse);
      server.listen(at.port, at.host, () => {
        server.server.off('error', refuse);
        running.push(server);
        resolve(server.server.address() as AddressInfo);
      });
    });
  const close = async (): Promise<void> => {
    const servers = running.splice(0);
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };

  return {
    async start() {
      try {
        const smtp = await listen(false, 'RELAY365_SMTP_LISTEN', config.smtpListen);
        const smtps = config.smtpsListen ? await listen(true, 'RELAY365_SMTPS_LISTEN', config.smtpsListen) : null;
        return { smtp, smtps };
      } catch (err) {
        // Half a relay (SMTP up, SMTPS refused) would hide the error; close what was opened.
        await close();
        throw err;
      }
    },
    async drain() {
      draining = true;
      await Promise.all(running.map((s) => s.drain()));
    },
    abort: () => running.reduce((cut, s) => cut + s.abort(), 0),
    sessions: () => running.reduce((open, s) => open + s.sessions, 0),
    listening: () => !draining && running.length > 0 && running.every((s) => s.server.listening),
    close,
  };
}
