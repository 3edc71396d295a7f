/**
 * The store: SQLite in the data folder (the default), or PostgreSQL shared by
 * the instances of a cluster (postgres/), behind one interface. `Store` is the
 * seam the rest of relay365 sees: repositories of plain data in and out, each
 * multi-step write one method. Database handles, transactions and pragmas
 * stay in this folder; each consumer takes the `StoreSlice` it uses rather
 * than the whole store.
 */
import { dataFolder } from '../data-folder.js';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createDatabaseRepo, type DatabaseRepo } from './database.js';
import { openDatabase, type Db } from './db.js';
import { createApiTokenRepo, type ApiTokenRepo } from './api-tokens.js';
import { createAlertRepo, type AlertRepo } from './alerts.js';
import { createLockoutRepo, type LockoutRepo } from './auth-lockouts.js';
import { createDashboardRepo, type DashboardRepo } from './dashboard.js';
import { createKeyCheckRepo, type KeyCheckRepo } from './key-check.js';
import { createInstanceRepo, type InstanceRepo } from './instances.js';
import { createLeaseRepo, type LeaseRepo } from './leases.js';
import { createLaneStateRepo, type LaneStateRepo } from './lane-state.js';
import { createNetworkRepo, type NetworkRepo } from './networks.js';
import { createQueueRepo, type QueueRepo } from './queue.js';
import { createBodyRepo, type BodyRepo } from './bodies.js';
import { createRefusalRepo, type RefusalRepo } from './refusals.js';
import { createRelayUserRepo, type RelayUserRepo } from './relay-users.js';
import { createRetentionRepo, type RetentionRepo } from './retention.js';
import { createServerRemoval, type RemoveServer } from './server-removal.js';
import { createServerRepo, type ServerRepo } from './servers.js';
import type { SecretBox } from './secret-box.js';
import { asAsync, type Async } from './async.js';
import { createSessionRepo, type SessionRepo } from './sessions.js';
import { createTokenCacheRepo, type TokenCacheRepo } from './token-caches.js';
import { createUserRepo, type UserRepo } from './users.js';
import { createPostgresStore } from './postgres/index.js';

/** Admin sessions end after 12 idle hours, and 7 days after sign-in at the latest. */
export const SESSION_TIMES = { idleMs: 12 * 60 * 60_000, absoluteMs: 7 * 24 * 60 * 60_000 };

/** The repositories as the SQLite engine implements them: synchronous, over better-sqlite3. */
export interface SqliteRepos {
  servers: ServerRepo;
  queue: QueueRepo;
  /** Message bodies, in chunks (recorded with their messages through `queue.insert`). */
  bodies: BodyRepo;
  tokenCaches: TokenCacheRepo;
  /** Admin panel users and setup tokens. */
  users: UserRepo;
  /** Admin panel sessions and their OAuth states. */
  sessions: SessionRepo;
  /** SMTP AUTH accounts of legacy apps. */
  relayUsers: RelayUserRepo;
  /** Networks that may relay without SMTP AUTH. */
  networks: NetworkRepo;
  /** Failed SMTP AUTH per client address, and lockouts. */
  lockouts: LockoutRepo;
  /** Per-mailbox lane state of the scheduler (pause, throttle, daily reservations). */
  laneState: LaneStateRepo;
  /** Pruning of old finished mail, checkpoints and the database's size. */
  retention: RetentionRepo;
  /** Alert settings, alerts from firing to resolved, and the queue figures alerts watch. */
  alerts: AlertRepo;
  /** The admin panel's dashboard figures (queue by status, messages per hour, oldest waiting). */
  dashboard: DashboardRepo;
  /** Tokens that authorize /api/v1. */
  apiTokens: ApiTokenRepo;
  /** Refused SMTP sessions and transactions, coalesced and bounded. */
  refusals: RefusalRepo;
  /** The database as a whole: integrity, the readiness write, the WAL sync, its size. */
  database: DatabaseRepo;
  /** Whether a key opens the sealed secrets, and the check value that tells. */
  keyCheck: KeyCheckRepo;
  /** The relay365 instances running on this store, with their heartbeats. */
  instances: InstanceRepo;
  /** What one instance of a cluster does at a time: a mailbox's deliveries, the jobs that run once. */
  leases: LeaseRepo;
}

/** The store's repositories by name, as relay365 sees them: every method asynchronous. */
export type StoreRepos = Async<SqliteRepos>;

/** The write across repositories, as the SQLite engine implements it. */
interface SqliteRemoval {
  /** Removes an email server with its waiting mail in one transaction, or says why not (see server-removal.ts). */
  removeServer: RemoveServer;
}

/** The store as relay365 sees it, whatever its engine. */
export interface Store extends StoreRepos, Async<SqliteRemoval> {
  /** The data folder (the local one; the database may live elsewhere). */
  dataDir: string;
  close(): Promise<void>;
}

/** The store as the SQLite engine opens it: the seam, and behind it the synchronous repositories and the handle the store's own tests use. */
export interface SqliteStore extends Store {
  db: Db;
  sync: SqliteRepos & SqliteRemoval;
}

/**
 * The part of the store one consumer uses: for each repository it names, the methods it calls, as
 * `StoreSlice<{ servers: 'get' | 'list'; queue: 'countsByStatus' }>`. The data folder and the removal
 * are added with `Pick<Store, 'dataDir' | 'removeServer'>`.
 */
export type StoreSlice<Uses extends { [R in keyof StoreRepos]?: keyof StoreRepos[R] }> = {
  [R in keyof Uses & keyof StoreRepos]: Pick<StoreRepos[R], Uses[R] & keyof StoreRepos[R]>;
};

/** Where the store lives: PostgreSQL at `databaseUrl` when set, else SQLite in `dataDir`. */
export interface StoreLocation {
  dataDir: string;
  databaseUrl: string | null;
  /** This instance's name (PostgreSQL shows it as the connections' application name). */
  instanceId: string;
}

/** Opens the store where `location` says, migrating it, with secrets sealed by `box`. */
export async function openStore(location: StoreLocation, box: SecretBox): Promise<Store> {
  if (location.databaseUrl === null) return createStore(location.dataDir, box, Date.now, location.instanceId);
  mkdirSync(location.dataDir, { recursive: true, mode: 0o700 });
  return createPostgresStore({
    url: location.databaseUrl,
    dataDir: location.dataDir,
    box,
    sessionTimes: SESSION_TIMES,
    applicationName: `relay365 ${location.instanceId}`,
    instanceId: location.instanceId,
  });
}

/** The instance id a store claims messages as when none is given (commands, tests). */
export const DEFAULT_INSTANCE_ID = 'relay365';

/** Opens `{dataDir}/relay365.db`, migrating it, with secrets sealed by `box`; claims are made as `instanceId`. */
export function createStore(dataDir: string, box: SecretBox, now: () => number = Date.now, instanceId = DEFAULT_INSTANCE_ID): SqliteStore {
  // Only relay365's own user may read the queue and the sealed secrets.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = dataFolder(dataDir).database;
  // SQLite gives its -wal and -shm files the database file's permissions.
  closeSync(openSync(file, 'a', 0o600));
  const db = openDatabase(file);
  const servers = createServerRepo(db, box, now);
  const laneState = createLaneStateRepo(db);
  const bodies = createBodyRepo(db, instanceId);
  const queue = createQueueRepo(db, laneState, bodies, instanceId);
  const database = createDatabaseRepo(db);
  const relayUsers = createRelayUserRepo(db, now);
  const networks = createNetworkRepo(db, now);
  const sync = {
    servers,
    queue,
    bodies,
    tokenCaches: createTokenCacheRepo(db, box, now),
    users: createUserRepo(db, now),
    sessions: createSessionRepo(db, box, SESSION_TIMES, now),
    relayUsers,
    networks,
    lockouts: createLockoutRepo(db),
    laneState,
    retention: createRetentionRepo(db),
    removeServer: createServerRemoval(db, { servers, queue, relayUsers, networks }),
    alerts: createAlertRepo(db, box),
    dashboard: createDashboardRepo(db),
    apiTokens: createApiTokenRepo(db, now),
    refusals: createRefusalRepo(db),
    database,
    keyCheck: createKeyCheckRepo(db, box),
    instances: createInstanceRepo(db),
    leases: createLeaseRepo(db, instanceId),
  };
  return {
    ...asAsync(sync),
    db,
    sync,
    dataDir,
    close: async () => {
      database.close();
      db.close();
    },
  };
}
