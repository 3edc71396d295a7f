/**
 * Loopback-only listening for the emulator's servers, plus the test TLS
 * certificate they present. Servers listen on 127.0.0.1; when the machine has
 * IPv6 loopback, a companion listener on [::1] with the same port hands its
 * sockets to the same server, so `localhost` works whichever address it
 * resolves to first.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** PEM key and certificate for `localhost` (signed by `certs/ca.pem`). */
export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  /** Path of the test CA, for `NODE_EXTRA_CA_CERTS`. */
  caPath: string;
}

/** Loads the committed `localhost` certificate from `test/emulator/certs/`. */
export function localhostTls(): TlsFiles {
  const dir = new URL('./certs/', import.meta.url);
  return {
    key: readFileSync(new URL('localhost-key.pem', dir)),
    cert: readFileSync(new URL('localhost.pem', dir)),
    caPath: fileURLToPath(new URL('ca.pem', dir)),
  };
}

/** A server listening on loopback. */
export interface LoopbackListener {
  port: number;
  /** Stops the [::1] companion (the caller closes its own server). */
  closeCompanion(): Promise<void>;
}

/** Listens `server` on 127.0.0.1:`port` (0 = any) and, when possible, [::1] on the same port. */
export async function listenOnLoopback(server: net.Server, port = 0): Promise<LoopbackListener> {
  await listen(server, port, '127.0.0.1');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const companion = net.createServer((socket) => server.emit('connection', socket));
  let companionUp = true;
  // No IPv6 loopback, or the port is taken there: localhost then means 127.0.0.1 only.
  await listen(companion, address.port, '::1').catch(() => {
    companionUp = false;
  });
  return {
    port: address.port,
    closeCompanion: () => new Promise<void>((resolve) => (companionUp ? companion.close(() => resolve()) : resolve())),
  };
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
