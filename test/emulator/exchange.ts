/**
 * The Exchange Online SMTP submission emulator (smtp.office365.com:587): an
 * smtp-server on loopback with STARTTLS (localhost certificate), AUTH XOAUTH2
 * checked against the identity emulator and the directory, Exchange's replies
 * and limits (3 concurrent sessions per mailbox, recipients per day and per
 * message, message size, Send As), fault injection, and a record of every
 * accepted message with its exact DATA bytes.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type net from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { dressReply, exchangeReplies, formatReply, parseReply, replyError, type ReplySource, type SmtpReply } from './exchange-replies.js';
import type {
  ExchangeEmulator,
  ExchangeOptions,
  ExchangeSettings,
  ReceivedMessage,
  AuthAttempt,
  SmtpFault,
  SmtpStage,
} from './exchange-types.js';
import { FaultQueue } from './faults.js';
import { listenOnLoopback, localhostTls } from './loopback.js';
import { MailboxLimits } from './mailbox-limits.js';
import { firstAddress, headerValue } from './message-headers.js';
import { decideXoauth2, maySendAs, type SessionPrincipal } from './xoauth2.js';

export type * from './exchange-types.js';

type SmtpConnection = SMTPServer['connections'] extends Set<infer C> ? C : never;

interface ConnectionState {
  socket: net.Socket;
  pendingAuthFailure?: SmtpReply;
  principal?: SessionPrincipal;
}

const DEFAULT_SETTINGS: ExchangeSettings = {
  maxConcurrentPerMailbox: 3,
  recipientsPerDay: 10000,
  maxRecipientsPerMessage: 500,
  maxMessageSize: 35 * 1024 * 1024,
  authFailure: 'direct',
  advertiseChunking: false,
  sendAsDenied: '5.2.252',
};

/** smtp-server, with a hook on every new connection (its replies get Exchange's words there). */
class ExchangeSmtpServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly onConnection: (connection: SmtpConnection, socket: net.Socket) => void,
  ) {
    super(options);
  }

  override connect(socket: net.Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    const connection = [...this.connections].at(-1);
    if (connection) this.onConnection(connection, socket);
  }
}

/** Starts the Exchange emulator on localhost:PORT (127.0.0.1, and [::1] when available). */
export async function startExchange(options: ExchangeOptions): Promise<ExchangeEmulator> {
  const { directory, identity } = options;
  const now = (): number => identity.now();
  const settings: ExchangeSettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const hostname = options.hostname ?? 'EMULATOR.prod.outlook.com';
  const source: ReplySource = { bannerName: hostname.replace('.prod.outlook.com', '.outlook.office365.com'), hostname, now };
  const states = new Map<string, ConnectionState>();
  const limits = options.mailboxLimits ?? new MailboxLimits(now);
  const faults = new FaultQueue<SmtpFault>();
  const rejections = new Map<string, SmtpReply>();
  const messages: ReceivedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];
  const events = new EventEmitter();
  let connections = 0;
  let closing: Promise<void> | undefined;

  const stateOf = (session: SMTPServerSession): ConnectionState => {
    const state = states.get(session.id);
    if (!state) throw new Error(`no state for session ${session.id}`);
    return state;
  };

  /** Applies a queued fault for `stage`: throws its reply, or drops the socket. */
  const applyFault = (stage: SmtpStage, state: ConnectionState, keep?: () => void): void => {
    const fault = faults.take((f) => f.stage === stage);
    if (!fault) return;
    if ('reply' in fault) throw replyError(parseReply(fault.reply));
    if (fault.keepMessage) keep?.();
    state.socket.destroy();
    throw replyError({ code: 421, text: '4.4.2 Connection dropped by fault injection' });
  };

  /** XOAUTH2: decides, then counts the session against its mailbox (in order of authentication). */
  const authenticate = (user: string, accessToken: string, sessionId: string, state: ConnectionState): SessionPrincipal => {
    try {
      applyFault('auth', state);
    } catch (err) {
      // An injected refusal is an AUTH attempt too: tests count them.
      const error = err as Error & { responseCode: number };
      const reply = formatReply({ code: error.responseCode, text: error.message });
      authAttempts.push({ method: 'XOAUTH2', user, ok: false, reply, reason: 'fault injection', at: now() });
      throw err;
    }
    const decision = decideXoauth2(user, accessToken, { directory, verify: identity.verifyAccessToken });
    if (decision.ok) {
      limits.openSession(decision.session.mailbox, sessionId);
      state.principal = decision.session;
      authAttempts.push({
        method: 'XOAUTH2',
        user,
        ok: true,
        reply: '235 2.7.0 Authentication successful',
        tokenKind: decision.session.tokenKind,
        at: now(),
      });
      return decision.session;
    }
    const reply =
      decision.kind === 'disabled' ? exchangeReplies.smtpAuthDisabled(decision.scope, source) : exchangeReplies.authUnsuccessful(source);
    authAttempts.push({ method: 'XOAUTH2', user, ok: false, reply: formatReply(reply), reason: decision.reason, at: now() });
    throw replyError(reply);
  };

  const receive = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const state = stateOf(session);
    const principal = state.principal;
    if (!principal) throw replyError(exchangeReplies.notAuthenticated(source));
    const rcptTo = session.envelope.rcptTo.map((r) => r.address);
    const id = `<${randomBytes(12).toString('hex').toUpperCase()}@${hostname}>`;
    const record = (): void => {
      messages.push({
        id,
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        mailFromArgs: (session.envelope.mailFrom && (session.envelope.mailFrom.args as Record<string, string | boolean>)) || {},
        rcptTo,
        user: principal.user,
        mailbox: principal.mailbox,
        tokenKind: principal.tokenKind,
        principal: principal.principal,
        raw,
        receivedAt: new Date(now()),
      });
      limits.recordSubmission(principal.mailbox, rcptTo.length);
      events.emit('message');
    };
    applyFault('data', state, record);
    if (stream.sizeExceeded || raw.length > settings.maxMessageSize) throw replyError(exchangeReplies.messageTooBig());
    // Sessions hold submission slots in the order they authenticated; a later one waits for a free slot.
    if (!limits.maySubmit(principal.mailbox, session.id, settings.maxConcurrentPerMailbox)) {
      throw replyError(exchangeReplies.concurrentLimit(source));
    }
    if (limits.overQuota(principal.mailbox, rcptTo.length, settings.recipientsPerDay)) {
      throw replyError(exchangeReplies.quotaExceeded(source));
    }
    const from = firstAddress(headerValue(raw, 'from') ?? '') ?? '';
    if (!maySendAs(principal, from, directory)) {
      throw replyError(exchangeReplies.sendAsDenied(principal.mailbox, from, source, settings.sendAsDenied));
    }
    record();
    return exchangeReplies.accepted(id, source).text;
  };

  const onConnection = (connection: SmtpConnection, socket: net.Socket): void => {
    connections += 1;
    const state: ConnectionState = { socket };
    states.set(connection.id, state);
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => {
      const view = {
        ...source,
        secure: connection.secure,
        authenticated: Boolean(state.principal),
        remoteAddress: connection.remoteAddress,
        advertiseChunking: settings.advertiseChunking,
        pendingAuthFailure: code === 535 ? state.pendingAuthFailure : undefined,
      };
      if (view.pendingAuthFailure) state.pendingAuthFailure = undefined;
      send(...dressReply([code, data, context], view));
    };
  };

  const tls = localhostTls();
  const server = new ExchangeSmtpServer(
    {
      name: source.bannerName,
      key: tls.key,
      cert: tls.cert,
      minVersion: 'TLSv1.2',
      authMethods: ['LOGIN', 'XOAUTH2'],
      // MAIL without AUTH is answered by onMailFrom with Exchange's 530 5.7.57.
      authOptional: true,
      size: 157286400,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      hideREQUIRETLS: true,
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 100,
      onConnect(session, callback) {
        settle(
          Promise.resolve().then(() => applyFault('connect', stateOf(session))),
          callback,
        );
      },
      onAuth(auth, session, callback) {
        const state = stateOf(session);
        if (auth.method !== 'XOAUTH2') {
          const reply = exchangeReplies.basicAuthUnsupported(source);
          authAttempts.push({
            method: auth.method,
            user: auth.username ?? '',
            ok: false,
            reply: formatReply(reply),
            reason: 'basic auth',
            at: now(),
          });
          return callback(replyError(reply));
        }
        try {
          callback(null, { user: authenticate(auth.username ?? '', auth.accessToken ?? '', session.id, state) });
        } catch (err) {
          const error = err as Error & { responseCode?: number };
          if (settings.authFailure === 'challenge' && error.responseCode === 535) {
            // smtp-server answers 334 <base64 JSON>, then 535 to the client's empty line.
            state.pendingAuthFailure = { code: 535, text: error.message };
            return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' } });
          }
          callback(error);
        }
      },
      onMailFrom(_address, session, callback) {
        settle(
          Promise.resolve().then(() => {
            const state = stateOf(session);
            if (!state.principal) throw replyError(exchangeReplies.notAuthenticated(source));
            applyFault('mail', state);
          }),
          callback,
        );
      },
      onRcptTo(address, session, callback) {
        settle(
          Promise.resolve().then(() => {
            applyFault('rcpt', stateOf(session));
            const rejection = rejections.get(address.address.toLowerCase());
            if (rejection) throw replyError(rejection);
            if (session.envelope.rcptTo.length >= settings.maxRecipientsPerMessage) {
              throw replyError(exchangeReplies.tooManyRecipients());
            }
          }),
          callback,
        );
      },
      onData(stream, session, callback) {
        receive(stream, session).then(
          (message) => callback(null, message),
          (err: unknown) => callback(err as Error),
        );
      },
      onClose(session) {
        const mailbox = states.get(session.id)?.principal?.mailbox;
        states.delete(session.id);
        if (mailbox) limits.closeSession(mailbox, session.id);
      },
    },
    onConnection,
  );
  server.on('error', () => undefined); // client socket errors are part of the tests
  const listener = await listenOnLoopback(server.server, options.port ?? 0);

  return {
    host: 'localhost',
    port: listener.port,
    hostname,
    settings,
    messages,
    authAttempts,
    get connections() {
      return connections;
    },
    peakConcurrentByMailbox: limits.peakConcurrent,
    activeSessions: (mailbox) => limits.activeSessions(mailbox.toLowerCase()),
    async waitForMessages(count, timeoutMs = 5000) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        while (messages.length < count) await once(events, 'message', { signal: controller.signal });
        return messages.slice();
      } catch {
        throw new Error(`expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`);
      } finally {
        clearTimeout(timer);
      }
    },
    failNext: (fault) => faults.push(fault),
    clearFaults: () => faults.clear(),
    rejectRecipient(address, reply) {
      rejections.set(address.toLowerCase(), reply ? parseReply(reply) : exchangeReplies.recipientNotFound());
    },
    clearRecipientRejections: () => rejections.clear(),
    exceedQuota: (mailbox) => limits.exhaust(mailbox.toLowerCase()),
    resetQuota: (mailbox) => limits.resetQuota(mailbox?.toLowerCase()),
    recipientsLastDay: (mailbox) => limits.recipientsLastDay(mailbox.toLowerCase()),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const state of states.values()) state.socket.destroy();
        await Promise.all([closed, listener.closeCompanion()]);
      })();
      return closing;
    },
  };
}

/** Settles an smtp-server hook callback from a promise (the edge between callbacks and async code). */
function settle(promise: Promise<void>, callback: (err?: Error | null) => void): void {
  promise.then(
    () => callback(),
    (err: unknown) => callback(err as Error),
  );
}
