/**
 * What happens to an SMTP connection before its session starts: the PROXY
 * protocol header from a trusted load balancer (RELAY365_SMTP_PROXY_PROTOCOL),
 * the implicit TLS handshake on the SMTPS listener, and the connection gate
 * (per-client and total limits). A connection that passes is handed to
 * smtp-server (`connect`, its public entry for accepted sockets) under the
 * session ID the gate counted it by; one that does not gets its reply here,
 * without a session, and leaves a refusal in the log. The gate's slot is given
 * back as soon as the session's socket ends, from either side.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { TlsVersion } from '../config.js';
import type { NetworkMatcher } from '../cidr.js';
import type { ConnectionGate } from './connection-gate.js';
import { readProxyHeader } from './proxy-header.js';
import type { Refusals } from './refusals.js';
import type { SmtpError } from './smtp-error.js';
import { randomHex } from './trace.js';
import type { RelaySmtpServer } from './smtp-server.js';
import { describeTlsFailure } from './tls-failure.js';
import type { TlsIdentity } from './tls-identity.js';

/** A load balancer sends its header at once; a client that sends nothing is not one. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;
const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;
/** Long enough for a refusal's reply to leave before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1_000;
/**
 * How long a connection over a limit waits for a slot before its 421. A client that sends QUIT
 * and at once opens its next connection is often ahead of the relay reading that QUIT.
 */
const SLOT_GRACE_MS = 2_000;

export interface SmtpFrontOptions {
  smtp: RelaySmtpServer;
  gate: ConnectionGate;
  refusals: Refusals;
  /** Implicit TLS (SMTPS): the handshake comes first. */
  tls: { identity: TlsIdentity; minVersion: TlsVersion } | null;
  /** With the PROXY protocol: the peers whose header is believed; null without it. */
  proxies: readonly NetworkMatcher[] | null;
  /** Connections not yet handed to smtp-server (header or handshake pending); beyond this they are dropped. */
  maxPending: number;
}

/** An SMTP session ID in smtp-server's own format. */
function newSessionId(): string {
  return BigInt(`0x${randomHex(10)}`)
    .toString(32)
    .padStart(16, '0');
}

/** TLS settings shared by the SMTPS handshake and smtp-server's STARTTLS. */
export function listenerTlsOptions(identity: TlsIdentity, minVersion: TlsVersion) {
  return {
    cert: identity.cert,
    key: identity.key,
    minVersion,
    // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; an admin who asks for them means it.
    ...(minVersion === 'TLSv1' || minVersion === 'TLSv1.1' ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
  };
}

/** Writes `reply` as the connection's only line and closes it. */
function refuseWith(stream: Socket, reply: SmtpError): void {
  stream.end(`${reply.responseCode} ${reply.message}\r\n`);
  setTimeout(() => stream.destroy(), REFUSAL_LINGER_MS).unref();
}

/**
 * The server side of an implicit TLS handshake on `socket`. Rejects with the TLS error, or with
 * null when the client left before it began one (a port probe, not a failed handshake).
 */
function handshake(socket: Socket, context: SecureContext): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
    const onTimeout = (): void => fail(Object.assign(new Error('TLS handshake timeout'), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' }));
    const onClose = (): void => fail(null);
    const fail = (err: Error | null): void => {
      secure.destroy();
      reject(err);
    };
    secure.setTimeout(TLS_HANDSHAKE_TIMEOUT_MS, onTimeout);
    secure.once('error', fail);
    secure.once('close', onClose);
    secure.once('secure', () => {
      secure.setTimeout(0);
      secure.off('timeout', onTimeout);
      secure.off('error', fail);
      secure.off('close', onClose);
      resolve(secure);
    });
  });
}

/** Creates the listening server for one SMTP listener (not yet listening). */
export function createSmtpFront({ smtp, gate, refusals, tls, proxies, maxPending }: SmtpFrontOptions): Server {
  const context = tls ? createSecureContext(listenerTlsOptions(tls.identity, tls.minVersion)) : null;
  let pending = 0;

  const accept = async (socket: Socket): Promise<void> => {
    const peer = socket.remoteAddress ?? 'unknown';
    let client = { address: peer, port: socket.remotePort ?? 0 };
    if (proxies) {
      if (!proxies.some((p) => p.matches(peer))) {
        refusals.record({ reason: 'proxy_refused', client: peer, detail: 'connected directly, not through a trusted proxy' });
        socket.destroy();
        return;
      }
      try {
        client = (await readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS)) ?? client;
      } catch (err) {
        refusals.record({ reason: 'proxy_refused', client: peer, detail: (err as Error).message });
        socket.destroy();
        return;
      }
    }
    let stream: Socket = socket;
    if (context && tls) {
      try {
        stream = await handshake(socket, context);
      } catch (err) {
        if (err === null) return;
        const failure = describeTlsFailure(err as Error, tls.minVersion);
        refusals.record({ reason: 'tls_failed', client: client.address, detail: failure.detail, hint: failure.hint });
        return;
      }
    }
    const id = newSessionId();
    let refusal = gate.admit(id, client.address);
    if (refusal) {
      await gate.waitForSlot(client.address, SLOT_GRACE_MS);
      // A client that gave up meanwhile takes no slot and leaves no refusal.
      if (stream.destroyed) return;
      refusal = gate.admit(id, client.address);
    }
    if (refusal) {
      refusals.record({ reason: refusal.reason, client: client.address, detail: `${refusal.reply.responseCode} ${refusal.reply.message}` });
      refuseWith(stream, refusal.reply);
      return;
    }
    // The slot is free as soon as either side ends the session (smtp-server ends its side after
    // QUIT or a 421), not only once the socket is closed; after STARTTLS the listener watches the
    // TLS socket the same way.
    const release = (): void => gate.release(id);
    for (const event of ['end', 'finish', 'close']) stream.once(event, release);
    smtp.connect(stream, { id, remoteAddress: client.address, remotePort: client.port });
  };

  return createServer((socket) => {
    // Until smtp-server takes the socket, its errors (a reset mid-header) end only this connection.
    socket.on('error', () => socket.destroy());
    if (pending >= maxPending) {
      socket.destroy();
      return;
    }
    pending++;
    void accept(socket).finally(() => pending--);
  });
}
