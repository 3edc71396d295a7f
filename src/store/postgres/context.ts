/**
 * What every PostgreSQL repository is built from: the pool, the secret box
 * that seals secrets at rest, the clock, and the admin sessions' lifetimes.
 */
import type { SecretBox } from '../secret-box.js';
import type { SessionTimes } from '../sessions.js';
import type { Pg } from './pool.js';

export interface PgContext {
  pg: Pg;
  box: SecretBox;
  now: () => number;
  sessionTimes: SessionTimes;
}
