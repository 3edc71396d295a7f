/**
 * Keeps relay365's one password queue (src/auth/passwords.ts) full for a
 * while, the way a flood of sign-ins would, without a flood.
 */
import { createDummyHash, verifyPassword } from '../../src/auth/passwords.js';

/** More checks than the queue holds. */
const CHECKS = 40;
/** Checks that run first, at the real cost: the queue stays full until one of them ends. */
const SLOW = 2;
const CHEAP_HASH = `scrypt$1024$8$1$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(64).toString('base64url')}`;

/** Starts the checks; resolves when all of them are answered (the extra ones as busy). */
export function fillPasswordQueue(): Promise<unknown> {
  return Promise.allSettled(Array.from({ length: CHECKS }, (_, i) => verifyPassword('filler', i < SLOW ? createDummyHash() : CHEAP_HASH)));
}
