/**
 * The trace every refused SMTP session and transaction leaves: one log line
 * with the client address, the `relay365_refused_total{reason}` counter, and
 * a row in the store that the panel's Refused page, `GET /api/v1/refused` and
 * `relay365 refused list` show. The reasons, their labels and the default
 * hint for each are data here; the listener says which one applies.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoreSlice } from '../store/index.js';
import type { RefusalEntry, StoredRefusal } from '../store/refusals.js';

/** Why a client was refused, with the short label the panel and the CLI show. */
export const REFUSAL_REASONS = {
  relay_denied: 'Relaying denied', // no SMTP AUTH and no allowed network (530/550)
  auth_failed: 'Login failed', // 535
  auth_locked_out: 'Login locked out', // 454
  auth_busy: 'Login not checked (busy)', // 454: too many logins being checked
  sender_refused: 'Sender refused', // allowed-From list / From Address Handling reject (550 5.7.1)
  too_big: 'Message too big', // 552
  tls_failed: 'TLS handshake failed',
  too_many_connections: 'Too many connections from one address', // 421 per client
  server_busy: 'Too many connections in all', // 421 RELAY365_MAX_CONNECTIONS
  junk_commands: 'Too many commands without mail',
  insufficient_storage: 'Low disk space', // 452 4.3.1
  no_server: 'No email server', // 451: nothing configured yet
  proxy_refused: 'PROXY header refused', // PROXY protocol from an untrusted peer or malformed
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

/** Every reason, in the order the panel's filter lists them. */
export const REFUSAL_REASON_KEYS = Object.keys(REFUSAL_REASONS) as RefusalReason[];

/** The label of a stored reason (the reason itself for one this relay365 does not know). */
export function refusalLabel(reason: string): string {
  return Object.hasOwn(REFUSAL_REASONS, reason) ? REFUSAL_REASONS[reason as RefusalReason] : reason;
}

/** A stored refusal as `GET /api/v1/refused` and `relay365 refused list --json` show it: ISO 8601 times, the reason's label. */
export function refusalOut(r: StoredRefusal) {
  return {
    id: r.id,
    client: r.client,
    // The store holds only reasons this module's recorder wrote.
    reason: r.reason as RefusalReason,
    label: refusalLabel(r.reason),
    detail: r.detail,
    hint: r.hint,
    username: r.username,
    count: r.count,
    firstAt: new Date(r.firstAt).toISOString(),
    lastAt: new Date(r.lastAt).toISOString(),
  };
}

/** What the admin can do about each reason, when the caller has no more precise hint. */
export const REFUSAL_HINTS: Readonly<Record<RefusalReason, string>> = {
  relay_denied: 'Give the app a relay user to log in with, or add its network on the Networks page if it cannot log in.',
  auth_failed: 'Check the username and password set in the app; a relay user’s password can be reset on the Relay users page.',
  auth_locked_out: 'Fix the password set in the app, then lift the lockout on the Relay users page (or wait for it to end).',
  auth_busy:
    'Many logins arrived at once; the device should retry. If it keeps happening, look for an app logging in over and over with a wrong password.',
  sender_refused: 'Add the sender to the relay user’s Allowed From list, or change the email server’s From Address Handling.',
  too_big: 'Have the app send smaller messages (a lower scan resolution, fewer pages), or raise RELAY365_MAX_MESSAGE_SIZE.',
  tls_failed: 'Update the device’s firmware, or lower RELAY365_TLS_MIN_VERSION to the TLS version it offers.',
  too_many_connections: 'Lower the app’s number of parallel connections, or raise RELAY365_MAX_CONNECTIONS_PER_CLIENT.',
  server_busy: 'Look for clients holding many idle connections, or raise RELAY365_MAX_CONNECTIONS.',
  junk_commands: 'Usually a scanner or a monitoring probe; if it is one of your apps, have it send mail or disconnect.',
  insufficient_storage: 'Free space in the data folder: mail is taken again once more than RELAY365_MIN_FREE_SPACE is free.',
  no_server: 'Add an email server on the Email servers page (or with relay365 server add).',
  proxy_refused: 'Check that the load balancer sends the PROXY protocol and that its address is in RELAY365_TRUSTED_PROXIES.',
};

export interface Refusal {
  reason: RefusalReason;
  /** The client's address (after PROXY protocol, when used). */
  client: string;
  /** What was refused and the reply sent, e.g. '552 5.3.4 Message size exceeds ... (41943040 bytes sent)'. Never a password. */
  detail: string;
  /** What the admin can do, when the caller knows (e.g. the RELAY365_TLS_MIN_VERSION hint); else the reason's default. */
  hint?: string | null;
  /** Relay user name when one was involved. */
  username?: string | null;
}

export interface Refusals {
  /** Logs, counts and queues one refusal for the store; synchronous, cheap, and never throws. */
  record(refusal: Refusal): void;
  /** Stores what is queued now (the relay calls it before closing the store); never rejects. */
  flush(): Promise<void>;
}

export interface RefusalsDeps {
  store: StoreSlice<{ refusals: 'record' }>;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** Longest texts kept: a client's own words (a username, a TLS library's message) stay bounded. */
const MAX = { client: 64, detail: 1000, hint: 500, username: 64 } as const;
/** Runs of refusals queued at most; reaching it stores them at once, so a flood never piles up in memory. */
const MAX_QUEUED = 1000;
/** A failing store is logged at most this often, not once per refused client. */
const STORE_ERROR_EVERY_MS = 60_000;

/** `text` on one line without control characters, at most `max` characters. */
function clean(text: string, max: number): string {
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const cleanOrNull = (text: string | null | undefined, max: number): string | null => {
  const cleaned = text ? clean(text, max) : '';
  return cleaned === '' ? null : cleaned;
};

/**
 * Creates the recorder the SMTP listener reports refusals to. A refusal is logged and counted at
 * once; its row is written with the others of the same event-loop turn in one transaction (one
 * commit per refusal would cost a flood ~15 times more), like ones merged into a single row.
 */
export function createRefusals({ store, log, metrics, now = Date.now }: RefusalsDeps): Refusals {
  let queued = new Map<string, RefusalEntry>();
  let scheduled: NodeJS.Immediate | null = null;
  let storeErrorLoggedAt = -Infinity;

  const flush = async (): Promise<void> => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = null;
    if (queued.size === 0) return;
    const entries = [...queued.values()];
    queued = new Map();
    try {
      await store.refusals.record(entries);
    } catch (err) {
      const at = now();
      if (at - storeErrorLoggedAt >= STORE_ERROR_EVERY_MS) {
        storeErrorLoggedAt = at;
        log.error('storing refusals failed; they are still logged and counted', { error: (err as Error).message });
      }
    }
  };

  const enqueue = (entry: Omit<RefusalEntry, 'count' | 'firstAt' | 'lastAt'>, at: number): void => {
    const key = `${entry.client}\n${entry.reason}`;
    const run = queued.get(key);
    if (run) {
      queued.set(key, { ...run, ...entry, count: run.count + 1, lastAt: Math.max(run.lastAt, at) });
      return;
    }
    if (queued.size >= MAX_QUEUED) void flush();
    queued.set(key, { ...entry, count: 1, firstAt: at, lastAt: at });
    scheduled ??= setImmediate(() => void flush()).unref();
  };

  return {
    record(refusal) {
      try {
        const { reason } = refusal;
        // Lowercase: IPv6 addresses from a PROXY header match the filter like those the socket reports.
        const client = clean(refusal.client, MAX.client).toLowerCase() || 'unknown';
        const detail = clean(refusal.detail, MAX.detail);
        const username = cleanOrNull(refusal.username, MAX.username);
        const hint = cleanOrNull(refusal.hint, MAX.hint) ?? REFUSAL_HINTS[reason];
        log.info(`refused: ${REFUSAL_REASONS[reason]}`, { client, reason, detail, ...(username ? { username } : {}) });
        metrics?.refused(reason);
        enqueue({ client, reason, detail, hint, username }, now());
      } catch (err) {
        // The SMTP session goes on whatever happened here: a refusal's trace is never worth a crash.
        log.error('recording a refusal failed', { error: (err as Error).message });
      }
    },
    flush,
  };
}
