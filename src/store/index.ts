/**
 * The store: one SQLite database in the data folder, with its repositories.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { openDatabase, type Db } from './db.js';
import { createQueueRepo, type QueueRepo } from './queue.js';
import { createServerRepo, type ServerRepo } from './servers.js';
import type { SecretBox } from './secret-box.js';
import { createTokenCacheRepo, type TokenCacheRepo } from './token-caches.js';

export interface Store {
  db: Db;
  servers: ServerRepo;
  queue: QueueRepo;
  tokenCaches: TokenCacheRepo;
  close(): void;
}

/** Opens `{dataDir}/relay365.db`, migrating it, with secrets sealed by `box`. */
export function createStore(dataDir: string, box: SecretBox, now: () => number = Date.now): Store {
  mkdirSync(dataDir, { recursive: true });
  const db = openDatabase(path.join(dataDir, 'relay365.db'));
  return {
    db,
    servers: createServerRepo(db, box, now),
    queue: createQueueRepo(db),
    tokenCaches: createTokenCacheRepo(db, box, now),
    close: () => db.close(),
  };
}
