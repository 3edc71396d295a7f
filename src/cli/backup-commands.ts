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
import { noPositionals, requireFlag, type Print } from './flags.js';
import { command, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

type BackupConfig = Pick<Config, 'dataDir' | 'secretKey'>;

/** What `backup` and `restore` work with: the configuration instead of an open store; `note` takes warnings. */
interface BackupContext {
  config: BackupConfig;
  print: Print;
  note: Print;
}

const BACKUP_FLAGS = { to: { type: 'string' }, 'without-key': { type: 'boolean' } } as const;
const RESTORE_FLAGS = { from: { type: 'string' } } as const;

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

async function backup({ config, print }: BackupContext, { values, positionals }: ParsedFlags<typeof BACKUP_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const to = requireFlag('to', values.to, 'relay365 backup --to /backups/relay365-2026-05-01.tar.gz');
  const withoutKey = values['without-key'] === true;
  const keyFromEnvironment = config.secretKey !== null;
  const summary = await createBackup({ dataDir: config.dataDir, to, includeKey: !withoutKey && !keyFromEnvironment });
  const parts = [
    `database ${size(summary.databaseBytes)} (schema ${summary.schemaVersion}) with ${summary.messages} waiting message(s) (${size(summary.receivedBytes)} as received)`,
    ...(summary.listenerCertificate ? ['the listener certificate'] : []),
  ];
  print(`wrote ${summary.file} (${size(summary.bytes)}): ${parts.join(', ')}`);
  print(keyLine(summary, withoutKey, keyFromEnvironment));
}

async function restore({ config, print, note }: BackupContext, { values, positionals }: ParsedFlags<typeof RESTORE_FLAGS>): Promise<void> {
  noPositionals(positionals);
  const from = requireFlag('from', values.from, 'relay365 restore --from /backups/relay365-2026-05-01.tar.gz');
  const summary = await restoreBackup({ dataDir: config.dataDir, from, keyFromEnvironment: config.secretKey !== null });
  print(
    `restored ${from} (made ${summary.createdAt} by relay365 ${summary.relay365Version}, schema ${summary.schemaVersion}) into ${config.dataDir}: ${summary.files} file(s), ${summary.messages} waiting message(s)${summary.keyIncluded ? ', the encryption key' : ''}`,
  );
  for (const warning of summary.warnings) note(`warning: ${warning}`);
  print('start relay365 to resume the queue');
}

/** `backup` and `restore`, each with its flags. */
export const BACKUP_TABLE = [command('backup', BACKUP_FLAGS, backup), command('restore', RESTORE_FLAGS, restore)];

/** The commands this module runs; they take the configuration instead of an open store. */
export const BACKUP_COMMANDS: readonly string[] = BACKUP_TABLE.map((c) => c.name);

/**
 * Runs `backup …` or `restore …` against `config.dataDir`; rejects with UsageError on bad input or a refused
 * archive or folder. `note` takes warnings (relay365 writes them to stderr).
 */
export async function runBackupCommand(config: BackupConfig, command: string, args: string[], print: Print, note: Print): Promise<void> {
  const found = BACKUP_TABLE.find((c) => c.name === command);
  if (found === undefined) throw new UsageError(`unknown command "${command}"`);
  try {
    await found.run({ config, print, note }, args);
  } catch (err) {
    if (err instanceof BackupError) throw new UsageError(err.message);
    throw err;
  }
}
