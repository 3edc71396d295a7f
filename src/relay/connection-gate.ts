/**
 * Who may open an SMTP session now: at most `perClient` sessions from one
 * client (an IPv4 address, or an IPv6 /64, which one customer usually holds
 * whole) and `total` sessions in all, of which anonymous ones (clients outside
 * the allowed networks that have not logged in) may hold only their share.
 * So idle sessions from elsewhere can never lock out the apps that relay365
 * serves, and a client that keeps at most `perClient` connections open is
 * never refused: a slot is free again as soon as its session ends (QUIT
 * answered, or the socket ends), not when the operating system finally
 * reports the socket closed. A client that opens its next connection right
 * after sending QUIT may still be a step ahead of the relay reading that QUIT;
 * so a connection over a limit waits a moment for a slot (`waitForSlot`)
 * before it is turned away.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { REPLIES, type SmtpError } from './smtp-error.js';

/** Part of `total` that anonymous sessions leave to allowed networks and relay users. */
const RESERVED_SHARE = 0.2;

export interface GateLimits {
  /** RELAY365_MAX_CONNECTIONS_PER_CLIENT. */
  perClient: number;
  /** RELAY365_MAX_CONNECTIONS. */
  total: number;
}

/** Why the gate turned a connection away. */
export type GateRefusal = 'too_many_connections' | 'server_busy';

export interface ConnectionGate {
  /** Admits a session from `address`, or says why not (the session must then not start). */
  admit(id: string, address: string): { reason: GateRefusal; reply: SmtpError } | null;
  /** The session logged in as a relay user: it no longer counts as anonymous. */
  trust(id: string): void;
  /** The session is over; a second call for the same session does nothing. */
  release(id: string): void;
  /** Sessions admitted and not yet released. */
  open(): number;
  /** Resolves once a session of `address`'s client (or any, for the total) ends, or after `timeoutMs`. */
  waitForSlot(address: string, timeoutMs: number): Promise<void>;
}

interface Admitted {
  client: string;
  anonymous: boolean;
}

/**
 * The client a connection counts against: the IPv4 address (also when a dual-stack socket reports
 * it as `::ffff:a.b.c.d`), or the first 64 bits of an IPv6 address.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An IPv4 tail (::1.2.3.4) takes two groups; it lies beyond the first 64 bits anyway.
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Creates the gate; `allowedNetwork` says whether an address may relay without logging in. */
export function createConnectionGate(limits: GateLimits, allowedNetwork: (address: string) => boolean): ConnectionGate {
  const anonymousLimit = Math.max(1, limits.total - Math.ceil(limits.total * RESERVED_SHARE));
  const sessions = new Map<string, Admitted>();
  const perClient = new Map<string, number>();
  let anonymous = 0;
  /** Waiting connections, by the client whose ended session may let them in. */
  const waiters = new Set<{ client: string; wake: () => void }>();

  return {
    admit(id, address) {
      const client = clientKey(address);
      const fromClient = perClient.get(client) ?? 0;
      if (fromClient >= limits.perClient) {
        return { reason: 'too_many_connections', reply: REPLIES.tooManyConnections(limits.perClient) };
      }
      const isAnonymous = !allowedNetwork(address);
      if (sessions.size >= limits.total || (isAnonymous && anonymous >= anonymousLimit)) {
        return { reason: 'server_busy', reply: REPLIES.serverBusy() };
      }
      sessions.set(id, { client, anonymous: isAnonymous });
      perClient.set(client, fromClient + 1);
      if (isAnonymous) anonymous++;
      return null;
    },
    trust(id) {
      const session = sessions.get(id);
      if (!session?.anonymous) return;
      session.anonymous = false;
      anonymous--;
    },
    release(id) {
      const session = sessions.get(id);
      if (!session) return;
      sessions.delete(id);
      if (session.anonymous) anonymous--;
      const left = (perClient.get(session.client) ?? 1) - 1;
      if (left > 0) perClient.set(session.client, left);
      else perClient.delete(session.client);
      for (const waiter of waiters)
        if (waiter.client === session.client || (perClient.get(waiter.client) ?? 0) < limits.perClient) waiter.wake();
    },
    open: () => sessions.size,
    waitForSlot(address, timeoutMs) {
      return new Promise((resolve) => {
        const waiter = {
          client: clientKey(address),
          wake: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.wake, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
