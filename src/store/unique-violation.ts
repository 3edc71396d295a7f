/**
 * A write refused because a unique value (a relay user's or an API token's
 * name, an email server's name, a user's email, a network's CIDR) is taken,
 * whichever engine refused it: SQLite's extended result code or PostgreSQL's
 * SQLSTATE. Callers that check a name before adding it still meet this when
 * another request (or, with PostgreSQL, another instance) takes the name in
 * between.
 */

/** better-sqlite3's `SqliteError.code`s and PostgreSQL's `unique_violation`. */
const UNIQUE_VIOLATION_CODES: ReadonlySet<string> = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY', '23505']);

/** True when `err` is a store's refusal of a duplicate unique value. */
export function isUniqueViolation(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && UNIQUE_VIOLATION_CODES.has(code);
}

/**
 * What `write` resolves with, or null when the store refused it for a unique value taken after the
 * caller looked it up and found it free: the caller then answers as its look-up would have.
 */
export async function unlessTaken<T>(write: Promise<T>): Promise<T | null> {
  try {
    return await write;
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}
