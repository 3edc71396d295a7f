/**
 * smtp-server, adapted in three places for a relay that serves known legacy apps:
 *
 * - A reply text that starts with its own enhanced status code
 *   (`5.7.1 Relaying denied`) is sent as is. smtp-server otherwise derives the
 *   enhanced code from the reply code alone (550 → 5.1.1), telling clients the
 *   wrong reason.
 * - The greeting goes out at once. smtp-server waits 100 ms before it to catch
 *   spambots that talk early; on a relay for printers and ERPs that pause only
 *   caps every client that opens a connection per message at 10 messages a
 *   second.
 *
 * `connect` mirrors smtp-server 3.21's own (`SMTPServer.connect` and
 * `SMTPConnection.init`); the dependency is pinned to that version.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const LEADING_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;
const AUTH_FEATURE = /^AUTH /;

type SocketOptions = Parameters<SMTPServer['connect']>[1];

/** An SMTPServer for relay365's listener. */
export class RelaySmtpServer extends SMTPServer {
  private readonly authBeforeTls: boolean;

  /** `allowInsecureAuth` also decides whether EHLO offers AUTH before STARTTLS. */
  constructor(options: SMTPServerOptions) {
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
    };
    connection._setListeners(() => {
      const { maxClients } = this.options;
      if (maxClients && this.connections.size > maxClients) {
        connection.send(421, `${connection.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      connection.connectionReady();
    });
  }
}
