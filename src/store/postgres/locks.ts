/**
 * The advisory locks relay365 takes on PostgreSQL, in one list so that no two
 * features share a key. Each is transaction-scoped (`pg_advisory_xact_lock`):
 * it ends with the transaction, also when the instance dies. A lock on one
 * value (an address) uses the two-key form, whose key space never meets the
 * single keys below.
 */
export const LOCKS = {
  /** Migrating the schema: instances that start together migrate one after another. */
  migration: 365_021,
  /** Joining the cluster: two instances starting at once see each other. */
  join: 365_022,
  /** Which email server is the default. */
  defaultServer: 365_101,
  /** Coalescing refused sessions into their rows. */
  refusals: 365_102,
  /** The first key of the per-address locks of failed SMTP AUTH (the second is the address's hash). */
  authAddressClass: 365_100,
} as const;

/** Takes the transaction-scoped lock `key` (from LOCKS); the SQL to run inside a transaction. */
export const LOCK_SQL = 'SELECT pg_advisory_xact_lock($1)';
