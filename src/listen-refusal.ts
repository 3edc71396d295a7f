/**
 * A listen address that cannot be bound at start-up, as the one ConfigError
 * line relay365 prints before it exits with code 2: the RELAY365_*_LISTEN
 * variable, the address and, from the system's error code, what is needed.
 */
import { ConfigError, type ListenAddress } from './config.js';

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
