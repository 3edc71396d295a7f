/**
 * `relay365 backup --to FILE [--without-key]` and `relay365 restore --from FILE`:
 * the command-line side of src/backup. Both work on the data folder directly,
 * without opening the store (a restore needs the folder empty), and both may
 * run while a relay serves the same folder. What they print names files and
 * counts, never a secret.
 */
import type { Config } from '../config.js';
import { BackupError } from '../backup/backup-error.js';
import { createBackup, type BackupSummary } from '../backup/create-backup.js';
import { restoreBackup } from '../backup/restore-backup.js';
import { noPositionals, parseFlags, requireFlag, type Print } from './flags.js';
import { UsageError } from './usage-error.js';

/** The commands this module runs; they take the configuration instead of an open store. */
export const BACKUP_COMMANDS: readonly string[] = ['backup', 'restore'];

type BackupConfig = Pick<Config, 'dataDir' | 'secretKey'>;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Where the key is, after a backup: the line that tells the admin what to keep safe. */
function keyLine(summary: BackupSummary, withoutKey: boolean, keyFromEnvironment: boolean): string {
  if (keyFromEnvironment)
    return 'the encryption key is not in the archive: it comes from RELAY365_SECRET_KEY; keep that value elsewhere, a restore needs it to read the stored secrets';
  if (summary.keyIncluded) return 'the encryption key (secret.key) is in the archive: keep the archive as safe as the key itself';
  if (withoutKey)
    return 'the encryption key is not in the archive (--without-key): keep secret.key from the data folder elsewhere, a restore needs it to read the stored secrets';
  return 'the data folder has no secret.key, so the archive has no encryption key';
}

async function backup(config: BackupConfig, args: string[], print: Print): Promise<void> {
  const { values, positionals } = parseFlags(args, { to: { type: 'string' }, 'without-key': { type: 'boolean' } });
  noPositionals(positionals);
  const to = requireFlag('to', values.to, 'relay365 backup --to /backups/relay365-2026-05-01.tar.gz');
  const withoutKey = values['without-key'] === true;
  const keyFromEnvironment = config.secretKey !== null;
  const summary = await createBackup({ dataDir: config.dataDir, to, includeKey: !withoutKey && !keyFromEnvironment });
  const parts = [
    `database ${size(summary.databaseBytes)} (schema ${summary.schemaVersion})`,
    `${summary.messages} waiting message(s) with their spool files (${size(summary.spoolBytes)})`,
    ...(summary.listenerCertificate ? ['the listener certificate'] : []),
  ];
  print(`wrote ${summary.file} (${size(summary.bytes)}): ${parts.join(', ')}`);
  if (summary.finishedMeanwhile > 0)
    print(`${summary.finishedMeanwhile} message(s) finished while the backup ran; the archive has them as finished`);
  print(keyLine(summary, withoutKey, keyFromEnvironment));
}

async function restore(config: BackupConfig, args: string[], print: Print, note: Print): Promise<void> {
  const { values, positionals } = parseFlags(args, { from: { type: 'string' } });
  noPositionals(positionals);
  const from = requireFlag('from', values.from, 'relay365 restore --from /backups/relay365-2026-05-01.tar.gz');
  const summary = await restoreBackup({ dataDir: config.dataDir, from, keyFromEnvironment: config.secretKey !== null });
  print(
    `restored ${from} (made ${summary.createdAt} by relay365 ${summary.relay365Version}, schema ${summary.schemaVersion}) into ${config.dataDir}: ${summary.files} file(s), ${summary.messages} waiting message(s)${summary.keyIncluded ? ', the encryption key' : ''}`,
  );
  for (const warning of summary.warnings) note(`warning: ${warning}`);
  print('start relay365 to resume the queue');
}

/**
 * Runs `backup …` or `restore …` against `config.dataDir`; rejects with UsageError on bad input or a refused
 * archive or folder. `note` takes warnings (relay365 writes them to stderr).
 */
export async function runBackupCommand(config: BackupConfig, command: string, args: string[], print: Print, note: Print): Promise<void> {
  try {
    if (command === 'backup') return await backup(config, args, print);
    if (command === 'restore') return await restore(config, args, print, note);
  } catch (err) {
    if (err instanceof BackupError) throw new UsageError(err.message);
    throw err;
  }
  throw new UsageError(`unknown command "${command}"`);
}
