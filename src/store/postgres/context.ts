/**
 * What every PostgreSQL repository is built from: the pool, the secret box
 * that seals secrets at rest, the clock, the admin sessions' lifetimes and
 * the instance the store claims messages for.
 */
import type { SecretBox } from '../secret-box.js';
import type { SessionTimes } from '../sessions.js';
import type { Pg } from './pool.js';

export interface PgContext {
  pg: Pg;
  box: SecretBox;
  now: () => number;
  sessionTimes: SessionTimes;
  /** Who this store claims messages as. */
  instanceId: string;
}
