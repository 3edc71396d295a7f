/**
 * SMTP AUTH for relay users, with brute-force protection: failures are
 * counted per client address, and a locked-out address is refused even with
 * the right password while the right password from another address still
 * works (see src/store/auth-lockouts.ts for the policy).
 */
import { createDummyHash, verifyPassword } from '../auth/passwords.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { SessionUser } from './access.js';
import { REPLIES } from './smtp-error.js';

export interface RelayAuth {
  /** Checks a login from `address`; resolves with the relay user or throws the SmtpError to answer. */
  login(address: string, username: string, password: string): Promise<SessionUser>;
}

/** Creates the login check over the store's relay users and lockouts. */
export function createRelayAuth({ store, log, now }: { store: Store; log: Logger; now: () => number }): RelayAuth {
  // Checked when the user does not exist, so the reply time does not tell which names exist.
  let dummyHash: Promise<string> | null = null;

  return {
    async login(address, username, password) {
      const locked = store.lockouts.active(address, now());
      if (locked) {
        log.info('SMTP AUTH refused: address locked out', { client: address, username, until: new Date(locked.lockedUntil).toISOString() });
        throw REPLIES.authLocked(locked.lockedUntil);
      }
      const user = store.relayUsers.findByName(username);
      const stored = (user && store.relayUsers.passwordHash(user.id)) ?? (await (dummyHash ??= createDummyHash()));
      const matches = await verifyPassword(password, stored);
      if (user && matches && !user.disabled) {
        store.lockouts.clearFailures(address);
        store.relayUsers.touch(user.id, now());
        return { id: user.id, name: user.name };
      }
      const reason = !user ? 'unknown user' : !matches ? 'wrong password' : 'user disabled';
      log.warn('SMTP AUTH failed', { client: address, username, reason });
      const lockout = store.lockouts.recordFailure(address, username, now());
      if (lockout) {
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
