/**
 * The PostgreSQL engine: the same `Store` as SQLite's, over a pool of
 * connections to one database that several relay365 instances may share.
 * Selected by `RELAY365_DATABASE_URL`; the data folder keeps only what is this
 * instance's own (its generated certificate and key).
 */
import type { SecretBox } from '../secret-box.js';
import type { SessionTimes } from '../sessions.js';
import { DEFAULT_INSTANCE_ID, type Store } from '../index.js';
import type { PgContext } from './context.js';
import { migratePostgres } from './migrate.js';
import { openPool, type Pg } from './pool.js';
import { createPgServerRemoval } from './server-removal.js';
import { createPgInstancesRepo } from './instances.js';
import { createPgLeaseRepo } from './leases.js';
import { createPgServersRepo } from './servers.js';
import { createPgTokenCachesRepo } from './token-caches.js';
import { createPgKeyCheckRepo } from './key-check.js';
import { createPgQueueRepo } from './queue.js';
import { createPgBodiesRepo } from './bodies.js';
import { createPgLaneStateRepo } from './lane-state.js';
import { createPgUsersRepo } from './users.js';
import { createPgSessionsRepo } from './sessions.js';
import { createPgRelayUsersRepo } from './relay-users.js';
import { createPgNetworksRepo } from './networks.js';
import { createPgLockoutsRepo } from './auth-lockouts.js';
import { createPgApiTokensRepo } from './api-tokens.js';
import { createPgAlertsRepo } from './alerts.js';
import { createPgDashboardRepo } from './dashboard.js';
import { createPgRefusalsRepo } from './refusals.js';
import { createPgRetentionRepo } from './retention.js';
import { createPgDatabaseRepo } from './database.js';

export interface PostgresStoreOptions {
  url: string;
  /** The local data folder (certificate, key file); nothing of the queue lives there. */
  dataDir: string;
  box: SecretBox;
  sessionTimes: SessionTimes;
  /** Shown in PostgreSQL's `pg_stat_activity`. */
  applicationName: string;
  /** Who the store claims messages as (RELAY365_INSTANCE_ID). */
  instanceId?: string;
  now?: () => number;
}

/** The PostgreSQL store, with its pool for the engine's own tests. */
export interface PostgresStore extends Store {
  pg: Pg;
}

/** Connects to the database at `url` and migrates it. */
export async function createPostgresStore({
  url,
  dataDir,
  box,
  sessionTimes,
  applicationName,
  instanceId = DEFAULT_INSTANCE_ID,
  now = Date.now,
}: PostgresStoreOptions): Promise<PostgresStore> {
  const pg = openPool(url, { applicationName });
  try {
    await migratePostgres(pg);
  } catch (err) {
    await pg.close();
    throw err;
  }
  const ctx: PgContext = { pg, box, now, sessionTimes, instanceId };
  return {
    servers: createPgServersRepo(ctx),
    tokenCaches: createPgTokenCachesRepo(ctx),
    keyCheck: createPgKeyCheckRepo(ctx),
    queue: createPgQueueRepo(ctx),
    bodies: createPgBodiesRepo(ctx),
    laneState: createPgLaneStateRepo(ctx),
    users: createPgUsersRepo(ctx),
    sessions: createPgSessionsRepo(ctx),
    relayUsers: createPgRelayUsersRepo(ctx),
    networks: createPgNetworksRepo(ctx),
    lockouts: createPgLockoutsRepo(ctx),
    apiTokens: createPgApiTokensRepo(ctx),
    alerts: createPgAlertsRepo(ctx),
    dashboard: createPgDashboardRepo(ctx),
    refusals: createPgRefusalsRepo(ctx),
    retention: createPgRetentionRepo(ctx),
    database: createPgDatabaseRepo(ctx),
    instances: createPgInstancesRepo(ctx),
    leases: createPgLeaseRepo(ctx),
    removeServer: createPgServerRemoval(ctx),
    pg,
    dataDir,
    close: () => pg.close(),
  };
}
