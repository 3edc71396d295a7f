/**
 * `relay365 store copy [--to postgres://…]`: moves the SQLite database of the
 * data folder (RELAY365_DATA_DIR) into an empty PostgreSQL database, to run
 * the relay as a cluster from then on. The target is `--to`, or
 * RELAY365_DATABASE_URL when `--to` is not given (so no password needs to be
 * on the command line). What it prints names tables and counts, never the
 * URL's password.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { databaseUrl } from '../config/values.js';
import { DB_FILE } from '../data-folder.js';
import { copyStore, StoreCopyError } from '../store/copy.js';
import { createStore } from '../store/index.js';
import { migratePostgres } from '../store/postgres/migrate.js';
import { openPool } from '../store/postgres/pool.js';
import { createSecretBox, readSecretKey } from '../store/secret-box.js';
import { databaseName } from './data-folder.js';
import { noPositionals, type Print } from './flags.js';
import { subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

type StoreConfig = Pick<Config, 'dataDir' | 'secretKey' | 'databaseUrl' | 'instanceId'>;

interface StoreCommandContext {
  config: StoreConfig;
  print: Print;
}

const COPY_FLAGS = { to: { type: 'string' } } as const;

async function copy({ config, print }: StoreCommandContext, { values, positionals }: ParsedFlags<typeof COPY_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const target = values.to ?? config.databaseUrl;
  if (target === undefined || target === null) {
    throw new UsageError(
      'say where to copy to: relay365 store copy --to postgres://user@host:5432/relay365 (or set RELAY365_DATABASE_URL)',
    );
  }
  if (!databaseUrl.safeParse(target).success) throw new UsageError('--to must be a postgres://user:password@host:5432/database URL');
  const file = path.join(config.dataDir, DB_FILE);
  if (!existsSync(file))
    throw new UsageError(
      `there is no relay365 database (${DB_FILE}) in ${config.dataDir} to copy: set RELAY365_DATA_DIR to the data folder relay365 ran with`,
    );
  const key = readSecretKey(config.dataDir, config.secretKey);
  if (key === null) throw new UsageError(`there is no encryption key for ${file}: set RELAY365_SECRET_KEY to the key relay365 runs with`);
  if (config.secretKey === null) {
    print(`note: set RELAY365_SECRET_KEY on every instance of the cluster to the contents of ${path.join(config.dataDir, 'secret.key')}`);
  }
  // Opening migrates the SQLite database, so both sides have this relay365's schema.
  const source = createStore(config.dataDir, createSecretBox(key));
  const pg = openPool(target, { applicationName: `relay365 ${config.instanceId} store copy` });
  try {
    if ((await source.keyCheck.verdict()) === 'wrong')
      throw new UsageError(`the key does not open the secrets sealed in ${file}: it is the wrong key`);
    await migratePostgres(pg);
    const summary = await copyStore(source.db, pg);
    const counts = Object.entries(summary.rows)
      .filter(([, n]) => n > 0)
      .map(([table, n]) => `${table} ${n}`);
    print(
      `copied ${file} into ${databaseName(target)}: ${counts.join(', ') || 'no rows'} (${(summary.bodyBytes / 1024 / 1024).toFixed(1)} MB of waiting mail)`,
    );
    print('start every instance with RELAY365_DATABASE_URL and the same RELAY365_SECRET_KEY; this data folder is no longer used for mail');
  } catch (err) {
    if (err instanceof StoreCopyError) throw new UsageError(err.message);
    throw err;
  } finally {
    await pg.close();
    await source.close();
  }
}

/** `store copy`. */
export const STORE_COPY_COMMAND = subcommandGroup<StoreCommandContext>('store', { copy: subcommand(COPY_FLAGS, copy) });

/** Runs `store …` with the configuration (it opens the SQLite database itself, whatever RELAY365_DATABASE_URL says). */
export async function runStoreCommand(config: StoreConfig, args: string[], print: Print): Promise<void> {
  await STORE_COPY_COMMAND.run({ config, print }, args);
}
