/**
 * What a backup holds, named as in the data folder: the database, the spool
 * files, the generated key and the generated listener certificate. Restore
 * accepts exactly these names and nothing else, which is what keeps an archive
 * from writing outside the data folder.
 */
import { DB_FILE, GENERATED_CERT_FILE, GENERATED_KEY_FILE, SECRET_KEY_FILE, SPOOL_DIR } from '../data-folder.js';
/** The archive's first entry: what it holds, with sizes and checksums. */
export const MANIFEST_FILE = 'manifest.json';
/** Files copied as they are when present. */
export const LISTENER_FILES = [GENERATED_CERT_FILE, GENERATED_KEY_FILE] as const;

const SPOOL_ENTRY = /^spool\/[A-Za-z0-9_-]{1,64}\.eml$/;

/** The spool entry of a message, as it is named in the archive. */
export const spoolEntry = (id: string): string => `${SPOOL_DIR}/${id}.eml`;

/** True for a name a backup may contain besides the manifest; relative, without `..`, one level of folder at most. */
export function isDataFileName(name: string): boolean {
  return name === DB_FILE || name === SECRET_KEY_FILE || (LISTENER_FILES as readonly string[]).includes(name) || SPOOL_ENTRY.test(name);
}
