/**
 * Step 1 of `relay365 doctor`: the data folder and the email server's settings.
 * The folder must be private to relay365's user (0700, secret.key and the
 * database 0600, as relay365 creates them), have the free space
 * RELAY365_MIN_FREE_SPACE asks for, and hold a database that passes SQLite's
 * `PRAGMA integrity_check`; Office 365 sign-in must have every setting it needs.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { missingOffice365Settings } from '../auth/server-settings.js';
import type { Config } from '../config.js';
import { statfsProbe, type FreeSpaceProbe } from '../relay/free-space.js';
import type { Store } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { fromChecks, type Check, type DoctorStep } from './report.js';

export type FolderConfig = Pick<Config, 'dataDir' | 'secretKey' | 'minFreeSpace'>;

/** The data folder's checks, each with the fix that goes with it when it fails. */
export interface FolderFindings {
  checks: Array<Check & { fix?: string }>;
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

/** Checks the data folder once; every server's first step shares the findings. */
export async function inspectDataFolder(config: FolderConfig, store: Store, probe: FreeSpaceProbe = statfsProbe): Promise<FolderFindings> {
  const dir = config.dataDir;
  const db = path.join(dir, 'relay365.db');
  const checks: Array<Check & { fix?: string }> = [];
  const privacy = await Promise.all([
    privacyCheck('data folder', dir, 0o700, '700'),
    config.secretKey === null ? privacyCheck('secret.key', path.join(dir, 'secret.key'), 0o600, '600') : null,
    privacyCheck('database', db, 0o600, '600'),
    privacyCheck('database journal (-wal)', `${db}-wal`, 0o600, '600'),
    privacyCheck('database shared memory (-shm)', `${db}-shm`, 0o600, '600'),
  ]);
  for (const check of privacy) if (check) checks.push(check);
  if (config.secretKey !== null) checks.push({ name: 'encryption key', saw: 'from RELAY365_SECRET_KEY', ok: true });

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

  let integrity: string[];
  try {
    integrity = (store.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
  } catch (err) {
    integrity = [(err as Error).message];
  }
  const intact = integrity.length === 1 && integrity[0] === 'ok';
  checks.push({
    name: 'database integrity',
    saw: intact ? 'ok' : (integrity[0] ?? 'no answer'),
    want: 'ok',
    ok: intact,
    ...(intact
      ? {}
      : {
          fix: 'Stop relay365 and restore the data folder from a backup (relay365 restore); mail the damaged database holds may need to be sent again.',
        }),
  });
  return { checks };
}

/** The email server's settings Office 365 sign-in needs; none for other methods. */
export function missingSettings(server: EmailServer): string[] {
  return server.method === 'office365' ? missingOffice365Settings(server) : [];
}

/** Step 1 for one server: the shared folder findings plus this server's settings. */
export function configStep(findings: FolderFindings, server: EmailServer): DoctorStep {
  const missing = missingSettings(server);
  const settings: Check & { fix?: string } = {
    name: 'email server settings',
    saw: missing.length === 0 ? 'complete' : `${missing.join(', ')} not set`,
    ok: missing.length === 0,
    ...(missing.length === 0
      ? {}
      : { fix: `Set ${missing.join(', ')} on the email server's page in the panel or with relay365 server set ${server.name}.` }),
  };
  const all = [...findings.checks, settings];
  const bad = all.filter((c) => !c.ok);
  const checks: Check[] = all.map(({ fix: _fix, ...check }) => check);
  const saw =
    bad.length === 0
      ? 'the data folder is private, has room and its database is intact; the settings are complete'
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
