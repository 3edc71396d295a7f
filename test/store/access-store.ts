/**
 * A fresh store of one engine for the panel and access repositories' tests
 * (users, sessions, relay users, networks, lockouts, API tokens), with a clock
 * the test moves and the email servers their rows hang off.
 */
import { openEngineStore, type Engine } from '../helpers/engines.js';
import type { Store } from '../../src/store/index.js';
import { plainServer } from '../helpers/fixture.js';

export const T0 = Date.parse('2030-06-01T12:00:00Z');

export interface AccessStore {
  store: Store;
  /** The store's clock: set `clock.now` to move it. */
  clock: { now: number };
  /** Adds an email server named `name`; its id. */
  addServer(name: string): Promise<number>;
  /**
   * Opens the connections that calls made "at once" then really run on together: PostgreSQL's pool opens
   * them lazily, one by one, which would otherwise let such calls run nearly one after the other.
   */
  openConnections(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Opens a fresh `engine` store whose clock starts at T0. */
export async function openAccessStore(engine: Engine): Promise<AccessStore> {
  const clock = { now: T0 };
  const opened = await openEngineStore(engine, () => clock.now);
  const { store } = opened;
  const addServer = async (name: string): Promise<number> => (await store.servers.add(plainServer({ name }))).id;
  const openConnections = async (): Promise<void> => {
    await Promise.all(Array.from({ length: 10 }, () => store.users.count()));
  };
  return { store, clock, addServer, openConnections, cleanup: opened.cleanup };
}
