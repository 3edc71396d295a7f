/**
 * smtp-server, adapted in five places for a relay that serves known legacy apps:
 *
 * - A reply text that starts with its own enhanced status code
 *   (`5.7.1 Relaying denied`) is sent as is. smtp-server otherwise derives the
 *   enhanced code from the reply code alone (550 → 5.1.1), telling clients the
 *   wrong reason.
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
 *   transaction after `idleMs` without a command, and after `junkLimit`
 *   commands that move no mail (NOOP, RSET, VRFY, EXPN, HELP, ETRN; Postfix's
 *   smtpd_junk_command_limit) since the last message. smtp-server's own idle
 *   timeout still bounds a transaction.
 *
 * Connection limits are not smtp-server's `maxClients`: the listener's gate
 * (connection-gate.ts) counts sessions before they reach `connect`.
 *
 * `connect` mirrors smtp-server 3.21's own (`SMTPServer.connect` and
 * `SMTPConnection.init`); the dependency is pinned to that version.
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

/** Answers `reply` and ends the session (smtp-server closes after any 421). */
const endWith = (connection: SMTPConnection, reply: SmtpError): void => connection.send(reply.responseCode, reply.message);
/** Tells the client the relay is stopping and ends the session. */
const shutDown = (connection: SMTPConnection): void => endWith(connection, SHUTTING_DOWN);

/** True while the session owes the relay nothing: no transaction open, no command being answered. */
const idle = (connection: SMTPConnection): boolean =>
  !connection._handlerPending && !connection._dataStream && !connection.session.envelope?.mailFrom;

/** An SMTPServer for relay365's listener. */
export class RelaySmtpServer extends SMTPServer {
  private readonly authBeforeTls: boolean;
  private draining = false;
  private drained: (() => void)[] = [];

  /** `allowInsecureAuth` also decides whether EHLO offers AUTH before STARTTLS. */
  constructor(
    options: SMTPServerOptions,
    private readonly limits: SessionLimits,
  ) {
    super(options);
    this.authBeforeTls = options.allowInsecureAuth === true;
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: SocketOptions): void {
    const connection = new SMTPConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data: Parameters<SMTPServer['_onClientConnect']>[0]) => this._onClientConnect(data));
    const send = connection.send.bind(connection);
    connection.send = (code, data, context) => {
      if (code === 250 && Array.isArray(data) && !connection.secure && !this.authBeforeTls) {
        data = data.filter((line) => !AUTH_FEATURE.test(String(line)));
      }
      send(code, data, typeof data === 'string' && LEADING_ENHANCED_CODE.test(data) ? false : context);
      // The reply may have ended the session's transaction (the 250 after DATA resets the envelope next).
      if (this.draining && code !== 421) setImmediate(() => this.endIfIdle(connection));
    };
    const close = connection.close.bind(connection);
    connection.close = () => {
      close();
      this.settle();
    };
    let idleTimer: NodeJS.Timeout | null = null;
    const watchIdle = (): void => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (connection._closing || connection._closed) return;
        if (idle(connection)) endWith(connection, IDLE);
        else watchIdle();
      }, this.limits.idleMs);
      idleTimer.unref();
    };
    let junk = 0;
    let junkSince = 0;
    const onCommand = connection._onCommand.bind(connection);
    connection._onCommand = (command, callback) => {
      // While draining only a transaction in progress goes on.
      if (this.draining && !connection._upgrading && !connection.session.envelope?.mailFrom) return shutDown(connection);
      watchIdle();
      const name = command.toString('latin1', 0, 5).split(' ')[0]?.toUpperCase() ?? '';
      if (!connection._upgrading && JUNK_COMMANDS.has(name)) {
        // session.transaction moves on once a message was answered: the count starts again.
        if (connection.session.transaction !== junkSince) [junk, junkSince] = [0, connection.session.transaction];
        if (++junk > this.limits.junkLimit) {
          this.limits.onJunk(connection.session);
          return endWith(connection, JUNK);
        }
      }
      onCommand(command, callback);
    };
    connection._setListeners(() => {
      if (this.draining) return shutDown(connection);
      watchIdle();
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
    for (const connection of [...this.connections]) this.endIfIdle(connection);
    return new Promise((resolve) => {
      this.drained.push(resolve);
      this.settle();
    });
  }

  /** Ends every open session now with `421 4.3.2`, transaction or not; returns how many there were. */
  abort(): number {
    const open = [...this.connections];
    for (const connection of open) shutDown(connection);
    return open.length;
  }

  private endIfIdle(connection: SMTPConnection): void {
    if (!connection._closing && !connection._closed && idle(connection)) shutDown(connection);
  }

  private settle(): void {
    if (!this.draining || this.connections.size > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
  }
}
