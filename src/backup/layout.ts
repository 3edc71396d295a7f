/**
 * What a backup holds, named as in the data folder: the database (with the
 * waiting messages' bodies), the generated key and the generated listener
 * certificate. Archives made before message bodies moved into the database
 * also hold one spool file per waiting message (`spool/{id}.eml`). Restore
 * accepts exactly these names and nothing else, which is what keeps an archive
 * from writing outside the data folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DB_FILE, GENERATED_CERT_FILE, GENERATED_KEY_FILE, SECRET_KEY_FILE, SPOOL_DIR } from '../data-folder.js';
/** The archive's first entry: what it holds, with sizes and checksums. */
export const MANIFEST_FILE = 'manifest.json';
/** Files copied as they are when present. */
export const LISTENER_FILES = [GENERATED_CERT_FILE, GENERATED_KEY_FILE] as const;

const SPOOL_ENTRY = /^spool\/[A-Za-z0-9_-]{1,64}\.eml$/;

/** The spool entry of a message, as an archive of an earlier version names it. */
export const spoolEntry = (id: string): string => `${SPOOL_DIR}/${id}.eml`;

/** True for a name a backup may contain besides the manifest; relative, without `..`, one level of folder at most. */
export function isDataFileName(name: string): boolean {
  return name === DB_FILE || name === SECRET_KEY_FILE || (LISTENER_FILES as readonly string[]).includes(name) || SPOOL_ENTRY.test(name);
}

/** How many message files the spool folder of `dataDir` holds (an earlier relay365's, or a restore's of an older archive). */
export function spoolFileCount(dataDir: string): number {
  const spool = path.join(dataDir, SPOOL_DIR);
  return existsSync(spool) ? readdirSync(spool).filter((name) => name.endsWith('.eml')).length : 0;
}
