/**
 * Adding a relay user, as the panel, the command line and the API do it:
 * the password given, or a generated one to show once; only its scrypt hash
 * is stored.
 */
import { generatePassword, hashPassword } from '../auth/passwords.js';
import type { StoreSlice } from '../store/index.js';
import type { RelayUser } from '../store/relay-users.js';
import { unlessTaken } from '../store/unique-violation.js';

export interface RelayUserToAdd {
  name: string;
  serverId: number;
  allowFrom: string[];
  /** Null: generate one. */
  password: string | null;
}

/** Adds the user; resolves with it and the generated password (null when one was given), or null when the name is taken. */
export async function addRelayUser(
  store: StoreSlice<{ relayUsers: 'add' | 'findByName' }>,
  input: RelayUserToAdd,
): Promise<{ user: RelayUser; generated: string | null } | null> {
  const generated = input.password === null ? generatePassword() : null;
  const passwordHash = await hashPassword(input.password ?? (generated as string));
  // Checked after hashing, so that the name is rarely taken between the check and the insert; when it is
  // (another request, or another instance sharing a PostgreSQL store), the unique name refuses the insert.
  if (await store.relayUsers.findByName(input.name)) return null;
  const user = await unlessTaken(
    store.relayUsers.add({ name: input.name, passwordHash, serverId: input.serverId, allowFrom: input.allowFrom }),
  );
  return user ? { user, generated } : null;
}
