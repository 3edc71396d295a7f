/**
 * The panel and the API over a store of either engine, beside a second
 * instance on the same database: for tests of what two relay365 instances
 * sharing one store may do to each other's requests.
 */
import type { Hono } from 'hono';
import { addUser } from '../../src/admin/accounts.js';
import { createAdminApp } from '../../src/admin/app.js';
import type { AdminEnv } from '../../src/admin/env.js';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { Store } from '../../src/store/index.js';
import { openAnotherInstance, openEngineStore, type Engine } from '../helpers/engines.js';
import { Agent, fakeRelay, PASSWORD } from './panel.js';

export interface EnginePanel {
  /** The store the panel runs on. */
  store: Store;
  /** Another instance on the same database (with SQLite, another connection to the same file). */
  other: Store;
  config: Config;
  app: Hono<AdminEnv>;
  /** A browser signed in as a new user with these permissions. */
  signedIn(email: string, perms: { superAdmin?: boolean; updateSettings?: boolean }): Promise<Agent>;
  cleanup(): Promise<void>;
}

/** A fresh store of `engine`, the panel over it, and a second instance beside it. */
export async function createEnginePanel(engine: Engine): Promise<EnginePanel> {
  const es = await openEngineStore(engine);
  const other = await openAnotherInstance(es, 'other');
  const config = loadConfig({
    RELAY365_DATA_DIR: es.dir,
    RELAY365_SECRET_KEY: 'ab'.repeat(32),
    RELAY365_PUBLIC_URL: 'http://localhost:8025',
  });
  const app = createAdminApp({ config, store: es.store, relay: fakeRelay(), log: silentLogger });
  return {
    store: es.store,
    other,
    config,
    app,
    async signedIn(email, perms) {
      await addUser(es.store, {
        email,
        password: PASSWORD,
        isSuperAdmin: perms.superAdmin ?? false,
        canUpdateSettings: perms.updateSettings ?? false,
      });
      const agent = new Agent(app);
      const res = await agent.signIn(email);
      if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
      return agent;
    },
    async cleanup() {
      await other.close();
      await es.cleanup();
    },
  };
}
