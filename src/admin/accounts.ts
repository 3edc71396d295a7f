/**
 * Creating panel accounts: the checks shared by the setup page, the Users
 * page and the start-up bootstrap, and the first Super Admin.
 */
import { isAddress } from '../address.js';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import { unlessTaken } from '../store/unique-violation.js';
import type { User } from '../store/users.js';
import { hashPassword, MIN_PASSWORD_LENGTH } from '../auth/passwords.js';

/** The setup link is valid this long after it was printed. */
export const SETUP_TOKEN_TTL_MS = 24 * 60 * 60_000;

/** A message for a bad email address, or undefined. */
export function checkEmail(email: string): string | undefined {
  return isAddress(email) ? undefined : 'Enter an email address such as admin@contoso.com.';
}

/** A message for a password too short or too long, or undefined. */
export function checkPassword(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > 1024) return 'Use at most 1024 characters.';
  return undefined;
}

/** Adds a user with a freshly hashed password. */
export async function addUser(
  store: StoreSlice<{ users: 'add' }>,
  input: { email: string; password: string; isSuperAdmin: boolean; canUpdateSettings: boolean },
): Promise<User> {
  return store.users.add({
    email: input.email,
    passwordHash: await hashPassword(input.password),
    isSuperAdmin: input.isSuperAdmin,
    canUpdateSettings: input.canUpdateSettings,
  });
}

export interface BootstrapOptions {
  store: StoreSlice<{ users: 'add' | 'count' | 'createSetupToken' }>;
  publicUrl: string;
  adminEmail: string | null;
  adminPassword: string | null;
  log: Logger;
}

/**
 * When no user exists: creates the first Super Admin from RELAY365_ADMIN_EMAIL
 * and RELAY365_ADMIN_PASSWORD, or else prints a one-time setup link.
 * Returns the setup link when one was printed (null otherwise).
 */
export async function bootstrapFirstAdmin({ store, publicUrl, adminEmail, adminPassword, log }: BootstrapOptions): Promise<string | null> {
  if ((await store.users.count()) > 0) return null;
  if (adminEmail && adminPassword) {
    const problem = checkEmail(adminEmail);
    if (problem) throw new Error(`RELAY365_ADMIN_EMAIL is not valid: ${problem}`);
    const user = await unlessTaken(
      addUser(store, { email: adminEmail, password: adminPassword, isSuperAdmin: true, canUpdateSettings: true }),
    );
    // Instances of a cluster started together each find no user; the one that adds the admin second finds it taken.
    if (user) log.info('created the first Super Admin from RELAY365_ADMIN_EMAIL', { email: adminEmail });
    else log.info('the first Super Admin from RELAY365_ADMIN_EMAIL was created by another instance', { email: adminEmail });
    return null;
  }
  const link = `${publicUrl}/setup/${await store.users.createSetupToken(SETUP_TOKEN_TTL_MS)}`;
  // The one place a token is logged on purpose: it is how the first admin gets in.
  log.warn('no admin user yet: open this one-time link to create the first Super Admin', { setupUrl: link });
  return link;
}
