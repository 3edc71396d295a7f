/**
 * SMTP AUTH for relay users, with brute-force protection: failures are
 * counted per client address, and a locked-out address is refused even with
 * the right password while the right password from another address still
 * works (see src/store/auth-lockouts.ts for the policy).
 *
 * scrypt is slow on purpose and runs on libuv's thread pool, which the spool's
 * writes and fsyncs need too. So at most two checks run at once, and a device
 * that logs in for every message (printers do) is checked against a keyed
 * digest of its last good password for a while instead of scrypt each time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import pLimit from 'p-limit';
import { createDummyHash, verifyPassword } from '../auth/passwords.js';
import type { Logger } from '../log.js';
import type { AuthFailureReason, Metrics } from '../ops/metrics.js';
import type { Store } from '../store/index.js';
import type { SessionUser } from './access.js';
import { REPLIES } from './smtp-error.js';

export interface RelayAuth {
  /** Checks a login from `address`; resolves with the relay user or throws the SmtpError to answer. */
  login(address: string, username: string, password: string): Promise<SessionUser>;
}

/** scrypt checks running at once; the thread pool keeps the rest for the spool. */
const SCRYPT_CONCURRENCY = 2;
/** How long a good password is recognised without scrypt; a changed hash ends it at once. */
const VERIFIED_TTL_MS = 15 * 60_000;
/** `Last used` is written at most this often per user: every write is a commit with an fsync. */
const LAST_USED_RESOLUTION_MS = 60_000;

interface Verified {
  /** The stored hash the password was checked against. */
  hash: string;
  /** HMAC of the password under a key that lives only in this process. */
  digest: Buffer;
  at: number;
}

/** Creates the login check over the store's relay users and lockouts. */
export function createRelayAuth({
  store,
  log,
  now,
  metrics,
}: {
  store: Store;
  log: Logger;
  now: () => number;
  metrics?: Metrics;
}): RelayAuth {
  // Checked when the user does not exist, so the reply time does not tell which names exist.
  let dummyHash: Promise<string> | null = null;
  const limit = pLimit(SCRYPT_CONCURRENCY);
  const key = randomBytes(32);
  const verified = new Map<number, Verified>();
  const digestOf = (password: string): Buffer => createHmac('sha256', key).update(password, 'utf8').digest();

  const passwordMatches = async (userId: number | null, password: string): Promise<boolean> => {
    const stored = (userId !== null && store.relayUsers.passwordHash(userId)) || (await (dummyHash ??= createDummyHash()));
    const known = userId === null ? undefined : verified.get(userId);
    const digest = digestOf(password);
    if (known && known.hash === stored && now() - known.at < VERIFIED_TTL_MS && timingSafeEqual(known.digest, digest)) return true;
    const matches = await limit(() => verifyPassword(password, stored));
    if (matches && userId !== null) verified.set(userId, { hash: stored, digest, at: now() });
    return matches;
  };

  return {
    async login(address, username, password) {
      const locked = store.lockouts.active(address, now());
      if (locked) {
        log.info('SMTP AUTH refused: address locked out', { client: address, username, until: new Date(locked.lockedUntil).toISOString() });
        metrics?.authFailure('locked_out');
        throw REPLIES.authLocked(locked.lockedUntil);
      }
      const user = store.relayUsers.findByName(username);
      const matches = await passwordMatches(user?.id ?? null, password);
      if (user && matches && !user.disabled) {
        store.lockouts.clearFailures(address);
        if (user.lastUsedAt === null || now() - user.lastUsedAt >= LAST_USED_RESOLUTION_MS) store.relayUsers.touch(user.id, now());
        return { id: user.id, name: user.name };
      }
      const failure: AuthFailureReason = !user ? 'unknown_user' : !matches ? 'wrong_password' : 'user_disabled';
      log.warn('SMTP AUTH failed', { client: address, username, reason: failure.replace('_', ' ') });
      metrics?.authFailure(failure);
      const lockout = store.lockouts.recordFailure(address, username, now());
      if (lockout) {
        metrics?.authLockout();
        log.warn('client address locked out of SMTP AUTH', {
          alert: true,
          client: address,
          username,
          until: new Date(lockout.lockedUntil).toISOString(),
          strikes: lockout.strikes,
        });
      }
      throw REPLIES.authFailed();
    },
  };
}
