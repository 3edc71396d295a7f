/**
 * Which data folder and key a command works on, and which commands may create
 * them. Only `start`, `init` and `restore` create a data folder, a database or
 * a key. Every other command refuses a folder without a database (a missing
 * or wrong RELAY365_DATA_DIR must not answer from a new, empty database), a
 * database without its key (no new key is written beside it), and a key that
 * does not open the database's sealed values.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { createStore, openStore, type Store, type StoreLocation } from '../store/index.js';
import { holdsSealedValues, testSecretKeyOf } from '../store/key-check.js';
import { DB_FILE, SECRET_KEY_FILE } from '../data-folder.js';
import { createSecretBox, loadSecretKey, readSecretKey } from '../store/secret-box.js';

/** The data folder or its key cannot serve the command: one line on stderr, exit code 2. */
export class DataFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataFolderError';
  }
}

export type FolderConfig = Pick<Config, 'dataDir' | 'secretKey'> & Partial<Pick<Config, 'databaseUrl' | 'instanceId'>>;

/** Where the store of `config` lives: PostgreSQL when RELAY365_DATABASE_URL is set, else the data folder. */
const locationOf = (config: FolderConfig): StoreLocation => ({
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrl ?? null,
  instanceId: config.instanceId ?? 'relay365',
});

/** With PostgreSQL the key is RELAY365_SECRET_KEY, which the configuration requires with the URL. */
function postgresKey(config: FolderConfig): Buffer {
  const key = readSecretKey(config.dataDir, config.secretKey);
  if (key === null) throw new DataFolderError('RELAY365_DATABASE_URL needs RELAY365_SECRET_KEY, the same key on every instance');
  return key;
}

/** The PostgreSQL database named in a message: host and database, never the user or password. */
export function databaseName(url: string): string {
  const { host, pathname } = new URL(url);
  return `the PostgreSQL database ${pathname.slice(1) || '(default)'} on ${host}`;
}

/** Opens the store of `config`; a PostgreSQL database that cannot be reached or migrated is named in one line. */
async function open(config: FolderConfig, key: Buffer): Promise<Store> {
  try {
    return await openStore(locationOf(config), createSecretBox(key));
  } catch (err) {
    if (!config.databaseUrl) throw err;
    throw new DataFolderError(`cannot open ${databaseName(config.databaseUrl)} (RELAY365_DATABASE_URL): ${(err as Error).message}`);
  }
}

const databaseOf = (config: FolderConfig): string => path.join(config.dataDir, DB_FILE);

function noDatabase(config: FolderConfig): DataFolderError {
  return new DataFolderError(
    `there is no relay365 database (${DB_FILE}) in ${config.dataDir}: set RELAY365_DATA_DIR to the data folder relay365 runs with, or create a new one there with relay365 init`,
  );
}

function noKey(config: FolderConfig): DataFolderError {
  return new DataFolderError(
    `there is no encryption key for the database in ${config.dataDir}: set RELAY365_SECRET_KEY to the key relay365 runs with, or put its ${SECRET_KEY_FILE} back into that folder`,
  );
}

/** The key does not open the database's sealed values: names where the key came from. */
function wrongKey(config: FolderConfig): DataFolderError {
  if (config.databaseUrl) {
    return new DataFolderError(
      `the key in RELAY365_SECRET_KEY does not open the secrets sealed in ${databaseName(config.databaseUrl)}: it is the wrong key; set RELAY365_SECRET_KEY to the key the other instances run with`,
    );
  }
  const source = config.secretKey !== null ? 'the key in RELAY365_SECRET_KEY' : `the key in ${path.join(config.dataDir, SECRET_KEY_FILE)}`;
  const fix =
    config.secretKey !== null
      ? 'set RELAY365_SECRET_KEY to the key relay365 runs with'
      : `put back the ${SECRET_KEY_FILE} relay365 runs with, or set RELAY365_SECRET_KEY to its key`;
  return new DataFolderError(`${source} does not open the secrets sealed in ${databaseOf(config)}: it is the wrong key; ${fix}`);
}

/** The key of an existing database; refuses a folder without a database or without a key. Creates nothing. */
function existingKey(config: FolderConfig): Buffer {
  if (!existsSync(databaseOf(config))) throw noDatabase(config);
  const key = readSecretKey(config.dataDir, config.secretKey);
  if (key === null) throw noKey(config);
  return key;
}

/** An opened existing data folder; `wrongKey` is set when its key does not open the database's sealed values. */
export interface OpenedFolder {
  store: Store;
  wrongKey: DataFolderError | null;
}

/** Opens the store of an existing folder with its key, and tests the key. */
async function openExisting(config: FolderConfig): Promise<{ store: Store; wrong: boolean }> {
  const store = await open(config, config.databaseUrl ? postgresKey(config) : existingKey(config));
  return { store, wrong: (await store.keyCheck.verdict()) === 'wrong' };
}

/**
 * Opens the store of an existing data folder for a command. Refuses (DataFolderError) a folder
 * without a database or key; a wrong key is returned, not thrown, so that `doctor` can report it
 * in its first step; every other command throws it with requireRightKey.
 */
export async function openDataFolder(config: FolderConfig): Promise<OpenedFolder> {
  const { store, wrong } = await openExisting(config);
  return { store, wrongKey: wrong ? wrongKey(config) : null };
}

/** Throws the folder's wrong-key error, closing its store first. */
export async function requireRightKey({ store, wrongKey: error }: OpenedFolder): Promise<Store> {
  if (error === null) return store;
  await store.close();
  throw error;
}

/**
 * For `backup`, which reads the folder without opening the store: refuses a folder without a
 * database and a wrong key. It needs no key (it never writes one), so a missing one is no refusal.
 */
export function checkBackupFolder(config: FolderConfig): void {
  if (config.databaseUrl) {
    throw new DataFolderError(
      `relay365 backup copies the SQLite database of a data folder; this relay keeps everything in ${databaseName(config.databaseUrl)}: back it up with pg_dump or your PostgreSQL service's backups`,
    );
  }
  if (!existsSync(databaseOf(config))) throw noDatabase(config);
  const key = readSecretKey(config.dataDir, config.secretKey);
  if (key !== null && testSecretKeyOf(databaseOf(config), createSecretBox(key)) === 'wrong') throw wrongKey(config);
}

/**
 * The store `relay365 start` runs with: creates the folder, database and key on first use, as
 * before. A database that holds sealed values gets no new key, and a wrong key stops the start.
 */
export async function openForStart(config: FolderConfig): Promise<Store> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  if (
    !config.databaseUrl &&
    existsSync(databaseOf(config)) &&
    readSecretKey(config.dataDir, config.secretKey) === null &&
    holdsSealedValues(databaseOf(config))
  ) {
    throw noKey(config);
  }
  const store = await open(config, config.databaseUrl ? postgresKey(config) : loadSecretKey(config.dataDir, config.secretKey));
  if ((await store.keyCheck.verdict()) === 'wrong') {
    await store.close();
    throw wrongKey(config);
  }
  await store.keyCheck.record();
  return store;
}

/**
 * `relay365 init`: creates the data folder, its database and (without RELAY365_SECRET_KEY) its key,
 * and returns what it did in one line. A folder that has a database already is checked like
 * for any command and left as it is.
 */
export async function initDataFolder(config: FolderConfig): Promise<string> {
  if (config.databaseUrl) {
    const store = await openForStart(config);
    await store.close();
    return `${databaseName(config.databaseUrl)} (RELAY365_DATABASE_URL) has relay365's schema and accepts RELAY365_SECRET_KEY`;
  }
  if (existsSync(databaseOf(config))) {
    const { store, wrong } = await openExisting(config);
    try {
      if (wrong) throw wrongKey(config);
      await store.keyCheck.record();
    } finally {
      await store.close();
    }
    return `${config.dataDir} (RELAY365_DATA_DIR) has a relay365 database already; nothing was created`;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(config.dataDir, SECRET_KEY_FILE);
  const keyFileExisted = existsSync(keyFile);
  const store = createStore(config.dataDir, createSecretBox(loadSecretKey(config.dataDir, config.secretKey)));
  try {
    await store.keyCheck.record();
  } finally {
    await store.close();
  }
  const key =
    config.secretKey !== null
      ? 'the encryption key comes from RELAY365_SECRET_KEY (no key file written)'
      : keyFileExisted
        ? `the encryption key is the one already in ${keyFile}`
        : `a new encryption key in ${keyFile}: back it up, the stored secrets cannot be read without it`;
  return `set up the data folder ${config.dataDir} (RELAY365_DATA_DIR): database ${DB_FILE}; ${key}`;
}
