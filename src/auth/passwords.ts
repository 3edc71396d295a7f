/**
 * Password hashing for panel users and relay users: scrypt (node:crypto) with
 * a per-user random salt, stored as `scrypt$N$r$p$salt$hash`, checked in
 * constant time. Also generates the relay users' passwords.
 *
 * scrypt is slow on purpose and runs on libuv's thread pool, which the group
 * commit's fsync of the database's write-ahead log needs too. So every hash and every check in the process
 * (panel sign-in, new panel and relay passwords, SMTP AUTH) waits its turn in
 * one small queue: two run at once, a bounded number wait, and past that the
 * caller gets `PasswordsBusyError` at once. A flood of sign-ins can then never
 * take the thread pool from accepted mail.
 */
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import pLimit from 'p-limit';

const KEY_BYTES = 64;
const SALT_BYTES = 16;
/** OWASP's minimum for scrypt: N=2^17 costs 128 MiB; 2^15 keeps a login near 50 ms at 32 MiB. */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const MAX_MEM = 64 * 1024 * 1024;

/** scrypt runs at once: libuv's pool has four threads by default (relay365 starts with eight), so the group commit's fsync always finds one free. */
const CONCURRENT = 2;
/** Hashes and checks that may wait for a turn (about a second of work) before callers are told to try again. */
const MAX_WAITING = 32;
// One queue per process, like the thread pool it protects; it holds no settings and no secrets.
const turns = pLimit(CONCURRENT);

/** Shortest password the panel accepts for a new user. */
export const MIN_PASSWORD_LENGTH = 12;

/** Too many passwords are being hashed or checked at once; nothing was checked, try again shortly. */
export class PasswordsBusyError extends Error {
  constructor() {
    super('Too many passwords are being checked at once; try again in a few seconds.');
    this.name = 'PasswordsBusyError';
  }
}

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  if (turns.pendingCount >= MAX_WAITING) return Promise.reject(new PasswordsBusyError());
  return turns(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { ...options, maxmem: MAX_MEM }, (err, key) =>
          err ? reject(err) : resolve(key),
        );
      }),
  );
}

const encode = (salt: Buffer, key: Buffer): string =>
  ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');

/** Hashes a password with a fresh salt; rejects with `PasswordsBusyError` when the queue is full. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return encode(salt, await derive(password, salt, COST));
}

/** True when `password` matches `stored`; false for a malformed hash; rejects with `PasswordsBusyError` when the queue is full. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A well-formed hash that no password matches (random salt and key, no scrypt
 * spent on it): checked when the account does not exist, so the answer time
 * does not tell which accounts exist.
 */
export function createDummyHash(): string {
  return encode(randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));
}

/** Letters and digits only: the password fields of printers and scanners often refuse symbols. */
const GENERATED_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const GENERATED_LENGTH = 24;

/** A new random password for a relay user: 24 characters, about 140 bits. */
export function generatePassword(): string {
  let password = '';
  for (let i = 0; i < GENERATED_LENGTH; i++) password += GENERATED_ALPHABET[randomInt(GENERATED_ALPHABET.length)];
  return password;
}
