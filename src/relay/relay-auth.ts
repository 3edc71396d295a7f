/**
 * SMTP AUTH for relay users, with brute-force protection: failures are
 * counted per client address, and a locked-out address is refused even with
 * the right password while the right password from another address still
 * works (see src/store/auth-lockouts.ts for the policy). Each attempt is
 * counted before its password is checked, so logins arriving at once from one
 * address try at most as many passwords as the policy allows.
 *
 * scrypt is slow on purpose and shares libuv's thread pool with the group commit's fsync, so
 * checks wait their turn in src/auth/passwords.ts's one queue; and a device
 * that logs in for every message (printers do) is checked against a keyed
 * digest of its last good password for a while instead of scrypt each time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createDummyHash, PasswordsBusyError, verifyPassword } from '../auth/passwords.js';
import type { Logger } from '../log.js';
import type { AuthFailureReason, Metrics } from '../metrics.js';
import type { StoreSlice } from '../store/index.js';
import type { SessionUser } from './access.js';
import { REPLIES, type SmtpError } from './smtp-error.js';

export interface RelayAuth {
  /** Checks a login from `address`; resolves with the relay user or throws a LoginRefused. */
  login(address: string, username: string, password: string): Promise<SessionUser>;
}

/** A refused login: the reply for the client, and why, for the Refused page (never the password). */
export class LoginRefused extends Error {
  constructor(
    readonly reply: SmtpError,
    readonly reason: 'auth_failed' | 'auth_locked_out' | 'auth_busy',
    /** What happened, in the admin's words: `wrong password`, `unknown user`, `locked out until …`. */
    readonly detail: string,
  ) {
    super(reply.message);
    this.name = 'LoginRefused';
  }
}

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
  store: StoreSlice<{
    relayUsers: 'findByName' | 'passwordHash' | 'touch';
    lockouts: 'abandonAttempt' | 'active' | 'attemptFailed' | 'beginAttempt' | 'clearFailures';
  }>;
  log: Logger;
  now: () => number;
  metrics?: Metrics;
}): RelayAuth {
  // Checked when the user does not exist, so the reply time does not tell which names exist.
  const dummyHash = createDummyHash();
  const key = randomBytes(32);
  const verified = new Map<number, Verified>();
  const digestOf = (password: string): Buffer => createHmac('sha256', key).update(password, 'utf8').digest();

  /** The user's last good password, recognised without scrypt (and without counting an attempt). */
  const knownGood = async (userId: number, password: string): Promise<boolean> => {
    const known = verified.get(userId);
    return (
      known !== undefined &&
      known.hash === (await store.relayUsers.passwordHash(userId)) &&
      now() - known.at < VERIFIED_TTL_MS &&
      timingSafeEqual(known.digest, digestOf(password))
    );
  };

  const passwordMatches = async (userId: number | null, password: string): Promise<boolean> => {
    const stored = (userId !== null && (await store.relayUsers.passwordHash(userId))) || dummyHash;
    const matches = await verifyPassword(password, stored);
    if (matches && userId !== null) verified.set(userId, { hash: stored, digest: digestOf(password), at: now() });
    return matches;
  };

  const signedIn = async (address: string, user: { id: number; name: string; lastUsedAt: number | null }): Promise<SessionUser> => {
    await store.lockouts.clearFailures(address);
    if (user.lastUsedAt === null || now() - user.lastUsedAt >= LAST_USED_RESOLUTION_MS) await store.relayUsers.touch(user.id, now());
    return { id: user.id, name: user.name };
  };

  return {
    async login(address, username, password) {
      const locked = await store.lockouts.active(address, now());
      if (locked) {
        metrics?.authFailure('locked_out');
        const until = new Date(locked.lockedUntil).toISOString();
        throw new LoginRefused(REPLIES.authLocked(locked.lockedUntil), 'auth_locked_out', `address locked out until ${until}`);
      }
      const user = await store.relayUsers.findByName(username);
      if (user && !user.disabled && (await knownGood(user.id, password))) return signedIn(address, user);

      const attempt = await store.lockouts.beginAttempt(address, username, now());
      if (!attempt) {
        throw new LoginRefused(
          REPLIES.authInProgress(),
          'auth_busy',
          'not checked: the logins from this address being checked hold every try left',
        );
      }
      let matches: boolean;
      try {
        matches = await passwordMatches(user?.id ?? null, password);
      } catch (err) {
        await store.lockouts.abandonAttempt(attempt);
        if (!(err instanceof PasswordsBusyError)) throw err;
        throw new LoginRefused(REPLIES.authBusy(), 'auth_busy', 'not checked: too many passwords are being checked in all');
      }
      if (user && matches && !user.disabled) return signedIn(address, user);

      const failure: AuthFailureReason = !user ? 'unknown_user' : !matches ? 'wrong_password' : 'user_disabled';
      metrics?.authFailure(failure);
      const lockout = await store.lockouts.attemptFailed(attempt, now());
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
      throw new LoginRefused(REPLIES.authFailed(), 'auth_failed', failure.replace('_', ' '));
    },
  };
}
