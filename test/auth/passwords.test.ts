import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDummyHash, hashPassword, PasswordsBusyError, verifyPassword } from '../../src/auth/passwords.js';

/** A stored hash of `password` at a low cost, so many checks take little time. */
function cheapHash(password: string): string {
  const salt = Buffer.from('0123456789abcdef');
  const key = scryptSync(password, salt, 64, { N: 1024, r: 8, p: 1 });
  return ['scrypt', 1024, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

describe('passwords', () => {
  it('accepts the password it hashed and refuses any other', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{86}$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    expect(await verifyPassword('correct horse battery staple', 'not a hash')).toBe(false);
  });

  it('makes dummy hashes that look like real ones and that no password matches', async () => {
    const dummy = createDummyHash();
    expect(dummy).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{86}$/);
    expect(await verifyPassword('', dummy)).toBe(false);
    expect(createDummyHash()).not.toBe(dummy);
  });

  it('runs 2 checks and keeps 32 waiting, and tells every further caller to try again instead of queueing more work', async () => {
    const stored = cheapHash('right');
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => verifyPassword('right', stored)));
    const checked = results.filter((r) => r.status === 'fulfilled');
    const busy = results.filter((r) => r.status === 'rejected' && r.reason instanceof PasswordsBusyError);
    expect(checked).toHaveLength(34);
    expect(checked.every((r) => r.value === true)).toBe(true);
    expect(busy).toHaveLength(6);
    expect(String((busy[0] as PromiseRejectedResult).reason)).toContain('try again in a few seconds');
    // Once the queue has drained, checks are taken again.
    expect(await verifyPassword('right', stored)).toBe(true);
  });
});
