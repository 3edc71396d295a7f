/**
 * The SMTP listener legacy apps talk to. smtp-server owns the protocol; this
 * module implements its hooks: relay users' AUTH, who may relay and where to
 * (src/relay/access.ts), the sender policy, address checks, the free-space
 * guard, and DATA, which streams into the spool and answers 250 only once the
 * message is durable. Connections reach smtp-server through smtp-front.ts
 * (PROXY header, implicit TLS, connection limits). Every refusal is recorded
 * (refusals.ts) with the client's address.
 */
import type { AddressInfo, Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { hostname as osHostname } from 'node:os';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { isAddress, isEnvelopeSender } from '../address.js';
import { networkMatcher } from '../cidr.js';
import type { Config, ListenAddress } from '../config.js';
import { listenRefusal } from '../listen-refusal.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { fromAllowed } from '../store/access-schemas.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { RULES_CACHE_MS, type Access, type Route, type SessionUser } from './access.js';
import type { Committer } from './committer.js';
import { MAX_QUEUE_LIFETIME_MS } from './classify.js';
import { createConnectionGate } from './connection-gate.js';
import { createFreeSpaceGuard, type FreeSpaceProbe } from './free-space.js';
import type { RefusalReason, Refusals } from './refusals.js';
import { LoginRefused, type RelayAuth } from './relay-auth.js';
import { headerFromAddresses, maySendAs, senderRefusal } from './sender-policy.js';
import { REPLIES, SmtpError } from './smtp-error.js';
import { createSmtpFront, listenerTlsOptions } from './smtp-front.js';
import { RelaySmtpServer } from './smtp-server.js';
import { MessageTooBigError, queueRecord, type Spool, type SpoolEnvelope } from './spool.js';
import { describeTlsFailure } from './tls-failure.js';
import type { TlsIdentity } from './tls-identity.js';
import { newQueueId, receivedHeader } from './trace.js';

/** Microsoft accepts at most 500 recipients per message (MICROSOFT.md). */
export const MAX_RECIPIENTS = 500;
/** An idle client is disconnected after this long (Postfix waits 300 s; legacy apps send at once or not at all). */
const SOCKET_TIMEOUT_MS = 60_000;
/** Outside a mail transaction a session ends sooner: a connection held open without mail only takes a slot. */
const SESSION_IDLE_MS = 30_000;
/** NOOP, RSET, VRFY and the like allowed between messages; Postfix's smtpd_junk_command_limit. */
const JUNK_COMMAND_LIMIT = 100;

/** What MAIL FROM decided for a transaction: who routes it where (null: the default server, and there is none). */
interface Transaction {
  route: Route;
  server: EmailServer | null;
}

/** The From header breaks the sender policy; the message is refused before it is made durable. */
class SenderRefusal extends Error {}

export interface ListenerDeps {
  config: Config;
  servers: StoreSlice<{ servers: 'get' }>['servers'];
  access: Access;
  auth: RelayAuth;
  tls: TlsIdentity;
  spool: Spool;
  committer: Committer;
  log: Logger;
  now?: () => number;
  /** Idle time before a client is disconnected; default 60 s. */
  socketTimeoutMs?: number;
  /** Idle time before a session outside a mail transaction ends; default 30 s. */
  sessionIdleMs?: number;
  /** Where refused sessions and transactions are recorded. */
  refusals: Refusals;
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

/**
 * Turns an async hook into smtp-server's callback style, at this edge only. A failure that is not
 * one of our replies (the database unreachable while a sender or a login is checked) is told as a
 * temporary local problem through `unexpected`: smtp-server would answer an plain error with a
 * permanent `550 5.1.1` carrying its text, and the app would drop its mail.
 */
function hook<Args extends unknown[], R>(fn: (...args: Args) => Promise<R>, unexpected: (err: unknown) => SmtpError) {
  return (...args: [...Args, (err?: Error | null, result?: R) => void]): void => {
    const callback = args.pop() as (err?: Error | null, result?: R) => void;
    fn(...(args as unknown as Args)).then(
      (result) => callback(null, result),
      (err: unknown) => callback(err instanceof SmtpError ? err : unexpected(err)),
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
  sessionIdleMs = SESSION_IDLE_MS,
  freeSpace,
  metrics,
  refusals,
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
  const serverOf = async (id: number): Promise<EmailServer | null> => {
    const t = performance.now();
    const cached = serverCache.get(id);
    if (cached && t - cached.at <= RULES_CACHE_MS) return cached.server;
    const server = (await servers.get(id)) ?? null;
    serverCache.set(id, { server, at: t });
    return server;
  };
  const gate = createConnectionGate({ perClient: config.maxConnectionsPerClient, total: config.maxConnections }, (address) =>
    access.inAllowedNetwork(address),
  );
  const sessionUser = (session: SMTPServerSession): SessionUser | null => (session.user as SessionUser | undefined) ?? null;
  /** Records a refusal and hands back the reply to throw. */
  const unexpected = (err: unknown): SmtpError => {
    log.warn('smtp session step failed', { error: (err as Error).message });
    return REPLIES.localProblem();
  };
  const refuse = (reason: RefusalReason, session: SMTPServerSession, reply: SmtpError, more: { detail?: string } = {}): SmtpError => {
    const username = sessionUser(session)?.name ?? null;
    refusals.record({ reason, client: session.remoteAddress, detail: more.detail ?? `${reply.responseCode} ${reply.message}`, username });
    return reply;
  };

  const onConnect = async (_session: SMTPServerSession): Promise<void> => {
    metrics?.smtpSessionOpened();
  };

  const onClose = (session: SMTPServerSession): void => {
    gate.release(session.id);
    metrics?.smtpSessionClosed();
  };

  /** After STARTTLS the session runs on a new socket: its end frees the gate's slot too. */
  const onSecure = async (socket: TLSSocket, session: SMTPServerSession): Promise<void> => {
    for (const event of ['end', 'finish', 'close']) socket.once(event, () => gate.release(session.id));
  };

  const onAuth = async (login: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> => {
    try {
      const user = await auth.login(session.remoteAddress, login.username ?? '', login.password ?? '');
      gate.trust(session.id);
      return { user };
    } catch (err) {
      if (!(err instanceof LoginRefused)) throw err;
      const { reply, reason, detail } = err;
      refusals.record({
        reason,
        client: session.remoteAddress,
        detail: `${reply.responseCode} ${reply.message} (${detail})`,
        username: login.username ?? null,
      });
      throw reply;
    }
  };

  const onMailFrom = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<void> => {
    routes.delete(session);
    // <> is the null sender of bounces (RFC 5321 §4.5.5), not an address.
    if (address.address !== '' && !isEnvelopeSender(address.address)) throw REPLIES.badSender();
    if (!(await disk.hasRoom())) throw refuse('insufficient_storage', session, REPLIES.insufficientStorage());
    const route = await access.route(session.remoteAddress, sessionUser(session));
    if (!route)
      throw refuse('relay_denied', session, REPLIES.authRequired(), {
        detail: `530 at MAIL FROM:<${address.address}>: not logged in and not in an allowed network`,
      });
    const server = route.serverId === null ? null : await serverOf(route.serverId);
    if (route.relayUser && !fromAllowed(route.relayUser.allowFrom, address.address)) {
      throw refuse(
        'sender_refused',
        session,
        REPLIES.senderNotAllowed(`Sender <${address.address}> is not allowed for relay user ${route.relayUser.name}`),
      );
    }
    if (server?.fromHandling === 'reject' && !maySendAs(server, address.address)) {
      throw refuse('sender_refused', session, REPLIES.senderNotAllowed(senderRefusal(server, address.address)));
    }
    routes.set(session, { route, server });
  };

  const onRcptTo = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<void> => {
    if (!routes.has(session)) throw REPLIES.relayDenied();
    if (!isAddress(address.address)) throw REPLIES.badRecipient();
  };

  /**
   * Every address in the From header must pass the same checks as MAIL FROM; null when they do. A
   * second From header would let a sender show a name the check never saw: refused where one applies.
   */
  const headerRefusal = ({ route, server }: Transaction, froms: string[]): string | null => {
    const user = route.relayUser;
    const checksUser = user !== null && user.allowFrom.length > 0;
    const checksServer = server?.fromHandling === 'reject';
    if (!checksUser && !checksServer) return null;
    if (froms.length > 1) return `The message has ${froms.length} From headers; only one is allowed`;
    const addresses = froms.length === 1 ? headerFromAddresses(froms[0] as string) : [];
    if (user && checksUser) {
      const bad = addresses.find((a) => !fromAllowed(user.allowFrom, a));
      if (bad !== undefined || addresses.length === 0)
        return `From header ${bad ? `<${bad}> ` : ''}is not allowed for relay user ${user.name}`;
    }
    if (server && checksServer) {
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
    // What the client declared at MAIL FROM goes upstream with the message (smtp-server upper-cases the keys).
    const declared = (session.envelope.mailFrom && (session.envelope.mailFrom.args as Record<string, string | boolean>)) || {};
    if (!transaction?.server) {
      stream.resume();
      throw transaction ? refuse('no_server', session, REPLIES.noServer()) : REPLIES.relayDenied();
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
      body8bit: String(declared.BODY ?? '').toUpperCase() === '8BITMIME',
      smtputf8: declared.SMTPUTF8 === true,
    };
    let file;
    try {
      // The spool stops writing at the limit: an oversize message never takes more disk than the limit.
      file = await spool.write(queueId, prefix, stream, config.maxMessageSize, (headers) => {
        const reason = headerRefusal(transaction, headers.from);
        if (reason) throw new SenderRefusal(reason);
      });
    } catch (err) {
      if (err instanceof MessageTooBigError) {
        const reply = REPLIES.tooBig(config.maxMessageSize);
        throw refuse('too_big', session, reply, {
          detail: `${reply.responseCode} ${reply.message}: the client sent ${stream.byteLength} bytes from <${mailFrom}>`,
        });
      }
      if (err instanceof SenderRefusal) throw refuse('sender_refused', session, REPLIES.senderNotAllowed(err.message));
      // The client went away mid-DATA (nothing to answer) or the disk failed.
      log.warn('message not stored', { queueId, client: session.remoteAddress, error: (err as Error).message });
      throw REPLIES.storageFailed();
    }
    try {
      await committer.commit(queueRecord(envelope, file), file.last);
    } catch (err) {
      log.error('message not recorded', { queueId, error: (err as Error).message });
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
    ...listenerTlsOptions(tls, config.tlsMinVersion),
    size: config.maxMessageSize,
    maxRecipients: MAX_RECIPIENTS,
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
    onConnect: hook(onConnect, unexpected),
    onSecure: hook(onSecure, unexpected),
    onClose,
    onAuth: hook(onAuth, unexpected),
    onMailFrom: hook(onMailFrom, unexpected),
    onRcptTo: hook(onRcptTo, unexpected),
    onData: hook(onData, unexpected),
  });

  /** smtp-server reports a failed STARTTLS handshake twice (the TLS socket's error, then the raw socket's). */
  const reported = new WeakSet<Error>();
  /** smtp-server's errors: a failed STARTTLS handshake is a refusal, anything else a log line. */
  const onServerError = (err: Error & { remoteAddress?: string; meta?: { tlsProtocol?: unknown }; report?: boolean }): void => {
    if (reported.has(err)) return;
    reported.add(err);
    if (err.meta && 'tlsProtocol' in err.meta && err.report !== false) {
      const failure = describeTlsFailure(err, config.tlsMinVersion);
      refusals.record({
        reason: 'tls_failed',
        client: err.remoteAddress ?? 'unknown',
        detail: `STARTTLS: ${failure.detail}`,
        hint: failure.hint,
      });
      return;
    }
    log.warn('smtp session error', { client: err.remoteAddress, error: err.message });
  };
  const proxies = config.smtpProxyProtocol ? config.trustedProxies.map(networkMatcher) : null;
  const running: { smtp: RelaySmtpServer; front: Server }[] = [];
  let draining = false;
  /** Binds one listener; a refusal is a ConfigError naming the variable and the address, for one line at start-up. */
  const listen = (secure: boolean, variable: string, at: ListenAddress): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      const smtp = new RelaySmtpServer(options(secure), {
        idleMs: sessionIdleMs,
        junkLimit: JUNK_COMMAND_LIMIT,
        onJunk: (session) =>
          refusals.record({
            reason: 'junk_commands',
            client: session.remoteAddress,
            detail: `421 after ${JUNK_COMMAND_LIMIT} commands (NOOP, RSET, VRFY, …) without a message`,
          }),
      });
      smtp.on('error', onServerError);
      const front = createSmtpFront({
        smtp,
        gate,
        refusals,
        tls: secure ? { identity: tls, minVersion: config.tlsMinVersion } : null,
        proxies,
        maxPending: config.maxConnections,
      });
      const refuseListen = (err: NodeJS.ErrnoException): void => reject(listenRefusal(variable, at, err.code ?? err.message));
      front.once('error', refuseListen);
      front.listen(at.port, at.host, () => {
        front.off('error', refuseListen);
        front.on('error', (err: Error) => log.warn('smtp listener error', { error: err.message }));
        running.push({ smtp, front });
        resolve(front.address() as AddressInfo);
      });
    });
  /** Stops listening; open sessions get smtp-server's grace period, then 421. Resolves once every connection is gone. */
  const close = async (): Promise<void> => {
    const servers = running.splice(0);
    await Promise.all(
      servers.map(
        ({ smtp, front }) =>
          new Promise<void>((resolve) => {
            front.close(() => resolve());
            smtp.close();
          }),
      ),
    );
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
      await Promise.all(running.map((s) => s.smtp.drain()));
    },
    abort: () => running.reduce((cut, s) => cut + s.smtp.abort(), 0),
    sessions: () => running.reduce((open, s) => open + s.smtp.sessions, 0),
    listening: () => !draining && running.length > 0 && running.every((s) => s.front.listening),
    close,
  };
}
