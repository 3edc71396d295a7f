/**
 * Whether a key is the one a database's secrets were sealed with. The first key seals a known
 * value into the `meta` table (`key_check`); a database from before that is tested with any
 * sealed secret it holds, and gets its check value on its next start. A database that holds
 * nothing sealed yet accepts any key.
 */
import Database from 'better-sqlite3';
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';
import { SETTING_KEYS, settingSpec } from './server-schema.js';

/** `opens`: the key opens the database's sealed values; `wrong`: it does not; `untested`: nothing is sealed yet. */
export type KeyVerdict = 'opens' | 'wrong' | 'untested';

/** The `meta` row that holds the check value (either engine). */
export const KEY_CHECK_NAME = 'key_check';
const CHECK_TEXT = 'relay365 secret key check';

/** Columns that hold sealed values besides the check value, by table, in the order they are tried. */
export const SEALED_COLUMNS: ReadonlyArray<readonly [table: string, column: string]> = [
  ...SETTING_KEYS.map(settingSpec)
    .filter((spec) => spec.kind === 'secret')
    .map((spec) => ['servers', spec.column] as const),
  ['token_caches', 'data'],
  ['alert_settings', 'webhook_url_enc'],
  ['oauth_states', 'verifier_enc'],
];

/** The columns `table` has (none when it does not exist): an older database may lack a newer one. */
function columnsOf(db: Db, table: string): Set<string> {
  return new Set((db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name));
}

/** A sealed value to try a key on: the check value, or a secret of a database from before it. */
export interface SealedSample {
  value: Buffer;
  isCheck: boolean;
}

/** The check value, or for a database without one its first sealed secret; null when nothing is sealed. */
function sealedSample(db: Db): SealedSample | null {
  if (columnsOf(db, 'meta').has('value')) {
    const row = db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?').get(KEY_CHECK_NAME);
    if (row) return { value: row.value, isCheck: true };
  }
  for (const [table, column] of SEALED_COLUMNS) {
    if (!columnsOf(db, table).has(column)) continue;
    const row = db.prepare<[], { value: Buffer }>(`SELECT ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL LIMIT 1`).get();
    if (row) return { value: row.value, isCheck: false };
  }
  return null;
}

/** Tells whether `box`'s key opens `sample` (either engine's); `untested` without one. */
export function keyVerdict(sample: SealedSample | null, box: SecretBox): KeyVerdict {
  if (sample === null) return 'untested';
  try {
    const plain = box.open(sample.value);
    return !sample.isCheck || plain === CHECK_TEXT ? 'opens' : 'wrong';
  } catch {
    return 'wrong';
  }
}

/** Tells whether `box`'s key opens the database's sealed values. */
export function testSecretKey(db: Db, box: SecretBox): KeyVerdict {
  return keyVerdict(sealedSample(db), box);
}

/** The check value sealed with `box`, as stored in `meta` under KEY_CHECK_NAME (either engine). */
export function sealedCheckValue(box: SecretBox): Buffer {
  return box.seal(CHECK_TEXT);
}

/** Seals the check value with `box` unless the database has one; call only once the key is known to be right. */
export function recordKeyCheck(db: Db, box: SecretBox): void {
  db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run(KEY_CHECK_NAME, sealedCheckValue(box));
}

/** The key check of an open store. */
export interface KeyCheckRepo {
  /** Whether `box`'s key (by default the one the store was opened with) opens the database's sealed values. */
  verdict(box?: SecretBox): KeyVerdict;
  /** Seals the check value with the store's key unless the database has one; call only once the key is known to be right. */
  record(): void;
}

/** Creates the key check over an open database whose secrets `box` seals. */
export function createKeyCheckRepo(db: Db, box: SecretBox): KeyCheckRepo {
  return {
    verdict: (other = box) => testSecretKey(db, other),
    record: () => recordKeyCheck(db, box),
  };
}

/** Runs `look` on the database in `file` opened read-only and without migrating: the folder may be a running relay's. */
function readOnly<T>(file: string, look: (db: Db) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return look(db);
  } finally {
    db.close();
  }
}

/** Whether the database in `file` holds anything sealed, so that only its own key can serve it. */
export function holdsSealedValues(file: string): boolean {
  return readOnly(file, (db) => sealedSample(db) !== null);
}

/** testSecretKey on the database in `file`, without opening the store (a backup of a running relay's folder). */
export function testSecretKeyOf(file: string, box: SecretBox): KeyVerdict {
  return readOnly(file, (db) => testSecretKey(db, box));
}
