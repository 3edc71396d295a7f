/**
 * Step 1 of `relay365 doctor`: the data folder and the email server's settings.
 * The folder must be private to relay365's user (0700, secret.key and the
 * database 0600, as relay365 creates them), have the free space
 * RELAY365_MIN_FREE_SPACE asks for, hold a database that passes SQLite's
 * `PRAGMA integrity_check`, and its key must open the database's sealed secrets;
 * Office 365 sign-in must have every setting it needs.
 */
import { stat } from 'node:fs/promises';
import { missingOffice365Settings } from '../auth/server-settings.js';
import type { Config } from '../config.js';
import { statfsProbe, type FreeSpaceProbe } from '../relay/free-space.js';
import type { StoreSlice } from '../store/index.js';
import { dataFolder, SECRET_KEY_FILE } from '../data-folder.js';
import { createSecretBox, readSecretKey } from '../store/secret-box.js';
import type { EmailServer } from '../store/servers.js';
import { fromChecks, type Check, type DoctorStep } from './report.js';

export type FolderConfig = Pick<Config, 'dataDir' | 'secretKey' | 'minFreeSpace'>;

/** What the folder's checks ask the store: whether a key opens its secrets, and its integrity. */
export type FolderStore = StoreSlice<{ keyCheck: 'verdict'; database: 'integrity' | 'facts' }>;

/** Beyond this the clocks of this machine and the database server disagree too much for a cluster's heartbeats. */
export const MAX_DATABASE_SKEW_MS = 2_000;

/** The data folder's checks, each with the fix that goes with it when it fails. */
export interface FolderFindings {
  checks: Array<Check & { fix?: string }>;
  /** The key opens the sealed secrets: the steps that need a client secret or password can run. */
  secretsReadable: boolean;
}

/** Bytes as a person reads them: 512 bytes, 3.4 MB, 78.1 GB. */
export function humanSize(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/** A file or folder that only its owner may read: `allowed` is the widest mode relay365 gives it. */
async function privacyCheck(name: string, file: string, allowed: number, chmod: string): Promise<(Check & { fix?: string }) | null> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return {
      name,
      saw: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      ok: false,
      fix: `Give relay365's user access to ${file}.`,
    };
  }
  const open = (mode & 0o077) !== 0;
  return {
    name,
    saw: `${octal(mode)}${open ? ' (group or others may read it)' : ''}`,
    want: `${octal(allowed)} or stricter`,
    ok: !open,
    ...(open
      ? { fix: `Run chmod ${chmod} ${JSON.stringify(file)}: only relay365's user should read the queue and the sealed secrets.` }
      : {}),
  };
}

/** Whether the key relay365 is given opens the database's sealed secrets: with another key no client secret can be read. */
async function keyCheck(config: FolderConfig, store: FolderStore): Promise<Check & { fix?: string }> {
  const name = 'encryption key';
  const key = readSecretKey(config.dataDir, config.secretKey);
  if (key === null) {
    return {
      name,
      saw: `none: RELAY365_SECRET_KEY is not set and there is no ${SECRET_KEY_FILE}`,
      ok: false,
      fix: `Set RELAY365_SECRET_KEY to the key relay365 runs with, or put its ${SECRET_KEY_FILE} back into the data folder.`,
    };
  }
  const source = config.secretKey !== null ? 'RELAY365_SECRET_KEY' : SECRET_KEY_FILE;
  const verdict = await store.keyCheck.verdict(createSecretBox(key));
  if (verdict === 'wrong') {
    return {
      name,
      saw: `the key from ${source} does not open the secrets sealed in the database`,
      want: 'the key they were sealed with',
      ok: false,
      fix:
        config.secretKey !== null
          ? 'Set RELAY365_SECRET_KEY to the key relay365 runs with: the stored secrets cannot be read with another.'
          : `Put back the ${SECRET_KEY_FILE} relay365 runs with, or set RELAY365_SECRET_KEY to its key: the stored secrets cannot be read with another.`,
    };
  }
  return { name, saw: `from ${source}, ${verdict === 'opens' ? 'opens the sealed secrets' : 'nothing is sealed yet'}`, ok: true };
}

/**
 * With PostgreSQL: the server that answered, and its clock against this machine's. The instances of a
 * cluster write heartbeats with their own clocks and read them with the others', so each should agree
 * with the database server's within MAX_DATABASE_SKEW_MS (run doctor on every instance).
 */
async function postgresChecks(store: FolderStore, now: () => number): Promise<Array<Check & { fix?: string }>> {
  const before = now();
  const facts = await store.database.facts();
  const after = now();
  if (facts.engine === 'SQLite') return [];
  // The server read its clock between our two readings: compare with their middle.
  const skew = Math.round((before + after) / 2 - facts.clockMs);
  const ok = Math.abs(skew) <= MAX_DATABASE_SKEW_MS;
  return [
    { name: 'database server', saw: `PostgreSQL ${facts.version}, answered in ${after - before} ms`, ok: true },
    {
      name: 'clock against the database server',
      saw: `${Math.abs(skew)} ms ${skew >= 0 ? 'ahead' : 'behind'}`,
      want: `within ${MAX_DATABASE_SKEW_MS} ms`,
      ok,
      ...(ok
        ? {}
        : {
            fix: "Synchronize this machine's clock (NTP, chrony) with the database server's: the instances of a cluster compare heartbeats written by each other's clocks.",
          }),
    },
  ];
}

/** Checks the data folder once; every server's first step shares the findings. */
export async function inspectDataFolder(
  config: FolderConfig,
  store: FolderStore,
  probe: FreeSpaceProbe = statfsProbe,
  now: () => number = Date.now,
): Promise<FolderFindings> {
  const dir = config.dataDir;
  const files = dataFolder(dir);
  const db = files.database;
  const checks: Array<Check & { fix?: string }> = [];
  const privacy = await Promise.all([
    privacyCheck('data folder', dir, 0o700, '700'),
    config.secretKey === null ? privacyCheck(SECRET_KEY_FILE, files.secretKey, 0o600, '600') : null,
    privacyCheck('database', db, 0o600, '600'),
    privacyCheck('database journal (-wal)', `${db}-wal`, 0o600, '600'),
    privacyCheck('database shared memory (-shm)', `${db}-shm`, 0o600, '600'),
  ]);
  for (const check of privacy) if (check) checks.push(check);
  const key = await keyCheck(config, store);
  checks.push(key);

  try {
    const free = await probe(dir);
    const enough = free >= config.minFreeSpace;
    checks.push({
      name: 'free space',
      saw: `${humanSize(free)} free`,
      want: `at least ${humanSize(config.minFreeSpace)} (RELAY365_MIN_FREE_SPACE)`,
      ok: enough,
      ...(enough
        ? {}
        : {
            fix: "Free space on the data folder's file system or move the data folder to a bigger disk; below RELAY365_MIN_FREE_SPACE relay365 refuses new mail with 452 4.3.1.",
          }),
    });
  } catch (err) {
    // The listener accepts mail when the file system cannot say (free-space.ts); so does the doctor.
    checks.push({ name: 'free space', saw: `unknown (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, ok: true });
  }

  let problem: string | null;
  try {
    problem = await store.database.integrity();
  } catch (err) {
    problem = (err as Error).message;
  }
  const intact = problem === null;
  checks.push({
    name: 'database integrity',
    saw: problem ?? 'ok',
    want: 'ok',
    ok: intact,
    ...(intact
      ? {}
      : {
          fix: 'Stop relay365 and restore the data folder from a backup (relay365 restore); mail the damaged database holds may need to be sent again.',
        }),
  });
  checks.push(...(await postgresChecks(store, now)));
  return { checks, secretsReadable: key.ok };
}

/** The email server's settings Office 365 sign-in needs; none for other methods. */
export function missingSettings(server: EmailServer): string[] {
  return server.method === 'office365' ? missingOffice365Settings(server) : [];
}

/** Step 1 for one server: the shared folder findings, this server's settings, and the warnings about wide allowed networks. */
export function configStep(findings: FolderFindings, server: EmailServer, networkWarnings: readonly Check[]): DoctorStep {
  const missing = missingSettings(server);
  const settings: Check & { fix?: string } = {
    name: 'email server settings',
    saw: missing.length === 0 ? 'complete' : `${missing.join(', ')} not set`,
    ok: missing.length === 0,
    ...(missing.length === 0
      ? {}
      : { fix: `Set ${missing.join(', ')} on the email server's page in the panel or with relay365 server set ${server.name}.` }),
  };
  const all: Array<Check & { fix?: string }> = [...findings.checks, settings, ...networkWarnings];
  const bad = all.filter((c) => !c.ok);
  const checks: Check[] = all.map(({ fix: _fix, ...check }) => check);
  const wide = networkWarnings.length;
  const warned =
    wide === 0 ? '' : `; warning: ${wide} allowed network${wide === 1 ? ' is' : 's are'} wider than a /16 (IPv4) or /48 (IPv6)`;
  const saw =
    bad.length === 0
      ? `the data folder is private, has room and its database is intact; the settings are complete${warned}`
      : bad.map((c) => `${c.name}: ${c.saw}`).join('; ');
  return fromChecks(
    'config',
    saw,
    checks,
    bad.length === 1 ? `Problem with the ${bad[0]?.name}` : `Problems with ${bad.map((c) => `the ${c.name}`).join(', ')}`,
    bad
      .map((c) => c.fix ?? '')
      .filter(Boolean)
      .join(' '),
  );
}
