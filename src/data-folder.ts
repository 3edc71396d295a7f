/**
 * What lives in the data folder (RELAY365_DATA_DIR), named once: the SQLite
 * database and the files SQLite keeps beside it, the spool folder of earlier
 * versions, the generated encryption key and the generated listener
 * certificate. The store, the relay, backup and restore, the doctor and the
 * command line all find them here.
 */
import path from 'node:path';

/** The database file, and the files SQLite keeps beside it. */
export const DB_FILE = 'relay365.db';
export const DB_SIDE_FILES = [`${DB_FILE}-wal`, `${DB_FILE}-shm`, `${DB_FILE}-journal`] as const;
/** The generated encryption key; absent when RELAY365_SECRET_KEY is set. */
export const SECRET_KEY_FILE = 'secret.key';
/**
 * The spool folder of earlier versions, which kept each message in a file `{queue id}.eml`; a
 * restore of their backups puts those files here, and the relay's start moves them into the
 * database (src/relay/spool-folder.ts).
 */
export const SPOOL_DIR = 'spool';
/** The listener certificate and key relay365 generates when none is configured. */
export const GENERATED_CERT_FILE = 'listener-cert.pem';
export const GENERATED_KEY_FILE = 'listener-key.pem';

/** The full paths of a data folder's files. */
export function dataFolder(dir: string) {
  return {
    dir,
    database: path.join(dir, DB_FILE),
    secretKey: path.join(dir, SECRET_KEY_FILE),
    spool: path.join(dir, SPOOL_DIR),
    generatedCert: path.join(dir, GENERATED_CERT_FILE),
    generatedKey: path.join(dir, GENERATED_KEY_FILE),
  };
}
