/**
 * A listen address that cannot be bound at start-up, as the one ConfigError
 * line relay365 prints before it exits with code 2: the RELAY365_*_LISTEN
 * variable, the address and, from the system's error code, what is needed.
 * `probeListenAddresses` finds such an address before start-up creates anything.
 */
import net from 'node:net';
import { ConfigError, type Config, type ListenAddress } from './config.js';

/** What each system error code says a listen address must be. */
const REFUSALS: Record<string, string> = {
  EADDRINUSE: 'a free address (another program listens there)',
  EACCES: 'a port this user may bind (below 1024 needs root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'an address of this machine',
};

/** `host:port` as the variable takes it (IPv6 in brackets). */
export function listenText(at: ListenAddress): string {
  return at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
}

/** The ConfigError for `variable`'s address `at`, which the system refused with `code`. */
export function listenRefusal(variable: string, at: ListenAddress, code: string): ConfigError {
  return new ConfigError(variable, listenText(at), `${REFUSALS[code] ?? 'an address relay365 can listen on'} (${code})`);
}

/**
 * Binds each configured listen address (SMTP, SMTPS, admin) as the listeners will, holding all at once
 * so that two variables naming one address clash too, then releases them. Rejects with the listenRefusal
 * of the first that cannot be bound. Start-up runs it before it creates the data folder, database or key;
 * a program that takes an address in the moment between is still refused by the listener itself.
 */
export async function probeListenAddresses(config: Pick<Config, 'smtpListen' | 'smtpsListen' | 'adminListen'>): Promise<void> {
  const addresses: Array<[string, ListenAddress | null]> = [
    ['RELAY365_SMTP_LISTEN', config.smtpListen],
    ['RELAY365_SMTPS_LISTEN', config.smtpsListen],
    ['RELAY365_ADMIN_LISTEN', config.adminListen],
  ];
  const bound: net.Server[] = [];
  try {
    for (const [variable, at] of addresses) {
      if (at === null) continue;
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', (err: NodeJS.ErrnoException) => reject(listenRefusal(variable, at, err.code ?? err.message)));
        probe.listen(at.port, at.host, () => resolve());
      });
      bound.push(probe);
    }
  } finally {
    await Promise.all(bound.map((probe) => new Promise((resolve) => probe.close(resolve))));
  }
}
