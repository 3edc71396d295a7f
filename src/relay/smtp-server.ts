/**
 * smtp-server, adapted in five places for a relay that serves known legacy apps:
 *
 * - A reply text that starts with its own enhanced status code
 *   (`5.7.1 Relaying denied`) is sent as is. smtp-server otherwise derives the
 *   enhanced code from the reply code alone (550 → 5.1.1), telling clients the
 *   wrong reason. EHLO offers AUTH before STARTTLS only when plain-text logins
 *   are allowed.
 * - The greeting goes out at once. smtp-server waits 100 ms before it to catch
 *   spambots that talk early; on a relay for printers and ERPs that pause only
 *   caps every client that opens a connection per message at 10 messages a
 *   second.
 * - A graceful stop (`drain`) keeps the listening socket open and answers
 *   `421 4.3.2` to every new connection and to every session outside a mail
 *   transaction, while a session inside one (MAIL FROM given, DATA running)
 *   finishes it first: its message gets the 250 once it is durable, then the
 *   421. smtp-server's own `close()` stops listening, so clients would see a
 *   refused connection instead of a reason, and it cuts transactions short.
 * - Sessions that hold a connection without sending mail end: outside a mail
 *   transaction after `idleMs` without a reply, and after `junkLimit`
 *   commands that move no mail (NOOP, RSET, VRFY, EXPN, HELP, ETRN; Postfix's
 *   smtpd_junk_command_limit) since the last message. smtp-server's own idle
 *   timeout still bounds a transaction.
 *
 * Connection limits are not smtp-server's `maxClients`: the listener's gate
 * (connection-gate.ts) counts sessions before they reach `connect`.
 *
 * Through smtp-server's public surface where it has one: `connect` (its entry
 * for accepted sockets), a subclass of `SMTPConnection` (a documented deep
 * import) overriding `send` and `close`, `connectionReady`, and the session.
 * Two internals remain, each pinned by a contract test
 * (test/relay/smtp-server-contract.test.ts) so that an update that changes
 * them fails CI: `_setListeners`, which `init()` calls before its 100 ms wait,
 * and `_onCommand`, the one place every command line passes.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SmtpError } from './smtp-error.js';

const LEADING_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
const AUTH_FEATURE = /^AUTH /;
/** RFC 3463 4.3.2 "system not accepting network messages". */
const SHUTTING_DOWN = new SmtpError(421, '4.3.2', 'Service shutting down; try again later');
const IDLE = new SmtpError(421, '4.4.2', 'Idle too long; closing the connection');
const JUNK = new SmtpError(421, '4.7.0', 'Too many commands without mail; closing the connection');
/** Commands that keep a session alive without moving mail. */
const JUNK_COMMANDS = new Set(['NOOP', 'RSET', 'VRFY', 'EXPN', 'HELP', 'ETRN']);

/** How sessions that send no mail are ended. */
export interface SessionLimits {
  /** A session outside a mail transaction ends after this long without a command. */
  idleMs: number;
  /** Junk commands a session may send between messages. */
  junkLimit: number;
  /** Told before a session is ended for junk commands. */
  onJunk(session: SMTPServerSession): void;
}

type SocketOptions = Parameters<SMTPServer['connect']>[1];

/**
 * One SMTP session of the relay's listener. It knows whether it owes the relay anything (a
 * transaction is open or a command is being answered), ends itself when idle outside a
 * transaction, and counts the commands that move no mail.
 */
class RelayConnection extends SMTPConnection {
  /** A command was read and its reply has not gone out yet. */
  private answering = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private junk = 0;
  private junkSince = 0;

  constructor(
    private readonly relay: RelaySmtpServer,
    socket: Socket | TLSSocket,
    options: SocketOptions,
  ) {
    super(relay, socket, options);
  }

  /** True while the session owes the relay nothing: no transaction open, no command being answered. */
  get idle(): boolean {
    return !this.answering && !this.session.envelope?.mailFrom;
  }

  /** Answers `reply` and ends the session (smtp-server closes after any 421). */
  endWith(reply: SmtpError): void {
    this.send(reply.responseCode, reply.message);
  }

  /** (Re)starts the idle clock: a session idle outside a transaction this long is ended. */
  watchIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => (this.idle ? this.endWith(IDLE) : this.watchIdle()), this.relay.limits.idleMs);
    this.idleTimer.unref();
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (code === 250 && Array.isArray(data) && !this.secure && !this.relay.authBeforeTls) {
      data = data.filter((line) => !AUTH_FEATURE.test(String(line)));
    }
    this.answering = false;
    super.send(code, data, typeof data === 'string' && LEADING_ENHANCED_CODE.test(data) ? false : context);
    if (code === 421) return;
    this.watchIdle();
    // The reply may have ended the session's transaction (the 250 after DATA resets the envelope next).
    if (this.relay.draining) setImmediate(() => this.relay.endIfIdle(this));
  }

  override close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    super.close();
    this.relay.settle();
  }

  // smtp-server internal (contract test): every command line passes here, before its handler.
  override _onCommand(command: Buffer, callback?: () => void): void {
    // While draining only a transaction in progress goes on.
    if (this.relay.draining && !this.session.envelope?.mailFrom) return this.endWith(SHUTTING_DOWN);
    const name = command.toString('latin1', 0, 5).split(' ')[0]?.toUpperCase() ?? '';
    if (JUNK_COMMANDS.has(name)) {
      // session.transaction moves on once a message was answered: the count starts again.
      if (this.session.transaction !== this.junkSince) [this.junk, this.junkSince] = [0, this.session.transaction];
      if (++this.junk > this.relay.limits.junkLimit) {
        this.relay.limits.onJunk(this.session);
        return this.endWith(JUNK);
      }
    }
    this.answering = true;
    super._onCommand(command, callback);
  }
}

/** An SMTPServer for relay365's listener. */
export class RelaySmtpServer extends SMTPServer {
  /** EHLO offers AUTH before STARTTLS (`allowInsecureAuth`). */
  readonly authBeforeTls: boolean;
  draining = false;
  private drained: (() => void)[] = [];

  constructor(
    options: SMTPServerOptions,
    readonly limits: SessionLimits,
  ) {
    super(options);
    this.authBeforeTls = options.allowInsecureAuth === true;
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: SocketOptions): void {
    const connection = new RelayConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this.emit('error', err));
    connection.on('connect', (data: unknown) => this.emit('connect', data));
    // smtp-server internal (contract test): init() without its 100 ms wait before the greeting.
    connection._setListeners(() => {
      if (this.draining) return connection.endWith(SHUTTING_DOWN);
      connection.watchIdle();
      connection.connectionReady();
    });
    // A client that leaves on its own is noticed once smtp-server has let go of its session.
    socket.once('close', () => setImmediate(() => this.settle()));
  }

  /** Sessions open now. */
  get sessions(): number {
    return this.connections.size;
  }

  /**
   * Starts a graceful stop while the socket keeps listening (see the header); resolves once no
   * session is open. `close()` afterwards stops listening.
   */
  drain(): Promise<void> {
    this.draining = true;
    for (const connection of [...this.connections] as RelayConnection[]) this.endIfIdle(connection);
    return new Promise((resolve) => {
      this.drained.push(resolve);
      this.settle();
    });
  }

  /** Ends every open session now with `421 4.3.2`, transaction or not; returns how many there were. */
  abort(): number {
    const open = [...this.connections] as RelayConnection[];
    for (const connection of open) connection.endWith(SHUTTING_DOWN);
    return open.length;
  }

  /** Ends a session that owes the relay nothing, during a drain. */
  endIfIdle(connection: RelayConnection): void {
    if (connection.idle) connection.endWith(SHUTTING_DOWN);
  }

  /** Resolves the drain once no session is open. */
  settle(): void {
    if (!this.draining || this.connections.size > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
  }
}
