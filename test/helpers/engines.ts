/**
 * Both store engines for one test: SQLite in a fresh data folder, and, when
 * the run has a PostgreSQL server (test/postgres-setup.ts), a fresh database
 * on it. `describe.each(ENGINES)` runs a suite once per engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDatabase } from './postgres-server.js';
import { inject } from 'vitest';
import { createStore, SESSION_TIMES, type Store } from '../../src/store/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createSecretBox, type SecretBox } from '../../src/store/secret-box.js';

export type Engine = 'sqlite' | 'postgres';

/** The engines this run can test. */
export const ENGINES: Engine[] = inject('postgresUrl') === null ? ['sqlite'] : ['sqlite', 'postgres'];

/** The key the test stores seal with. */
export const TEST_BOX: SecretBox = createSecretBox(Buffer.from('ab'.repeat(32), 'hex'));

/** A new, empty database on the test server; `drop` deletes it (closing what is still connected). */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = inject('postgresUrl');
  if (admin === null) throw new Error('this run has no PostgreSQL server');
  return createDatabase(admin, `t_${randomBytes(6).toString('hex')}`);
}

export interface EngineStore {
  store: Store;
  /** The data folder (SQLite's database, or the local folder beside PostgreSQL). */
  dir: string;
  /** The PostgreSQL URL, or null for SQLite. */
  url: string | null;
  cleanup(): Promise<void>;
}

/** A fresh store of `engine`, its clock `now`. */
export async function openEngineStore(engine: Engine, now: () => number = Date.now): Promise<EngineStore> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-test-'));
  if (engine === 'sqlite') {
    const store = createStore(dir, TEST_BOX, now);
    return {
      store,
      dir,
      url: null,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await freshDatabase();
  const store = await createPostgresStore({
    url: database.url,
    dataDir: dir,
    box: TEST_BOX,
    sessionTimes: SESSION_TIMES,
    applicationName: 'relay365 test',
    now,
  });
  return {
    store,
    dir,
    url: database.url,
    cleanup: async () => {
      await store.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A second store on the same database as `es`, claiming messages as `instanceId`: another instance
 * of the cluster (with SQLite, another process on the same data folder).
 */
export async function openAnotherInstance(es: EngineStore, instanceId: string, now: () => number = Date.now): Promise<Store> {
  if (es.url === null) return createStore(es.dir, TEST_BOX, now, instanceId);
  return createPostgresStore({
    url: es.url,
    dataDir: es.dir,
    box: TEST_BOX,
    sessionTimes: SESSION_TIMES,
    applicationName: `relay365 test ${instanceId}`,
    instanceId,
    now,
  });
}
