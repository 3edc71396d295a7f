/**
 * smtp-server, with one adaptation: a reply text that starts with its own
 * enhanced status code (`5.7.1 Relaying denied`) is sent as is. smtp-server
 * otherwise derives the enhanced code from the reply code alone (550 → 5.1.1),
 * which would tell clients the wrong reason.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

const LEADING_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

type SocketOptions = Parameters<SMTPServer['connect']>[1];

/** An SMTPServer whose hook errors may carry their own enhanced status code. */
export class ExplicitCodeSmtpServer extends SMTPServer {
  constructor(options: SMTPServerOptions) {
    super(options);
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: SocketOptions): void {
    const before = new Set(this.connections);
    super.connect(socket, socketOptions);
    for (const connection of this.connections) {
      if (before.has(connection)) continue;
      const send = connection.send.bind(connection);
      connection.send = (code, data, context) =>
        send(code, data, typeof data === 'string' && LEADING_ENHANCED_CODE.test(data) ? false : context);
    }
  }
}
