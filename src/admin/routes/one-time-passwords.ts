/**
 * The slot that carries a new relay user password from the POST that made it
 * to the page that shows it, once. It lives in memory only, keyed by the
 * admin's session: the password never reaches the database, a URL or a
 * cookie, and reloading the page finds the slot empty.
 */

export interface OneTimePasswords {
  /** Keeps `password` for this session to show once on the page of relay user `relayUserId`. */
  put(sessionHash: string, relayUserId: number, password: string): void;
  /** Returns and forgets the password waiting for this session and relay user; null once shown or expired. */
  take(sessionHash: string, relayUserId: number): string | null;
}

interface Slot {
  relayUserId: number;
  password: string;
  expiresAt: number;
}

/** A password not looked at within five minutes is dropped; the admin can reset it again. */
const TTL_MS = 5 * 60_000;

/** Creates an empty slot store; one per admin app. */
export function createOneTimePasswords(now: () => number): OneTimePasswords {
  const slots = new Map<string, Slot>();
  return {
    put(sessionHash, relayUserId, password) {
      const t = now();
      for (const [key, slot] of slots) if (slot.expiresAt <= t) slots.delete(key);
      slots.set(sessionHash, { relayUserId, password, expiresAt: t + TTL_MS });
    },
    take(sessionHash, relayUserId) {
      const slot = slots.get(sessionHash);
      if (!slot || slot.relayUserId !== relayUserId) return null;
      slots.delete(sessionHash);
      return slot.expiresAt > now() ? slot.password : null;
    },
  };
}
