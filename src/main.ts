#!/usr/bin/env node
/**
 * relay365's entry point: `relay365 [start]` runs the relay; `relay365 init`
 * sets a data folder up; `relay365 server …`, `queue …`, `relay-user …`,
 * `network …`, `api-token …`, `send-test`, `doctor`, `backup` and `restore`
 * work on the same data folder, and `relay365 help [COMMAND]` or
 * `COMMAND --help` explains them. On a terminal, or with `--verbose`, a command
 * first says which data folder it uses. A bad setting or flag, a data folder
 * without a database or key, a wrong key, or a listen address that cannot be
 * bound (tried before the data folder is touched) is one line on stderr and
 * exit code 2. Once running, errors no edge
 * caught are logged with `"alert":true` by the process guard and the relay
 * keeps serving.
 */
// Spool files are written and fsynced on libuv's thread pool; four threads (the default)
// leave concurrent clients waiting on each other's fsyncs. Read when the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { installProcessGuard } from './process-guard.js';
import { createShutdown } from './shutdown.js';
import { probeListenAddresses } from './listen-refusal.js';
import { startAdmin, type AdminServer } from './admin/server.js';
import { createAlerts } from './alerts/engine.js';
import { removeAbandonedStaging } from './backup/staging.js';
import { BACKUP_COMMANDS, runBackupCommand } from './cli/backup-commands.js';
import { COMMANDS, runCommand } from './cli/commands.js';
import { runStoreCommand, STORE_COPY_COMMAND } from './cli/store-commands.js';
import { ClusterError, joinCluster, type Membership } from './cluster/membership.js';
import { checkBackupFolder, DataFolderError, initDataFolder, openDataFolder, openForStart, requireRightKey } from './cli/data-folder.js';
import { UnknownArgumentError } from './cli/flags.js';
import { commandUsage, USAGE } from './cli/usage.js';
import { UsageError } from './cli/usage-error.js';
import { createOperations } from './ops/index.js';
import { createMetrics } from './metrics.js';
import { createRelay } from './relay/index.js';
import { relay365Version } from './version.js';

/** How long a failed start-up waits for the listeners that did start to close. */
const FAILED_START_CLEANUP_MS = 5_000;

/**
 * Writes to stdout until it fails: from then on output is dropped instead of ending the process. A reader
 * that went away (EPIPE: `relay365 queue list | head`, a closed log pipe) is normal and passes quietly; any
 * other failure (a full disk under a redirect) is said once on stderr and makes the exit code 1.
 */
function stdoutWriter(): (text: string) => void {
  let gone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (gone) return;
    gone = true;
    if (err.code === 'EPIPE') return;
    process.stderr.write(`relay365: cannot write to stdout (${err.code ?? err.message}); the output from here on is lost\n`);
    process.exitCode = 1;
  });
  return (text) => {
    if (!gone) process.stdout.write(text);
  };
}

const within = (ms: number, work: Promise<unknown>): Promise<unknown> =>
  Promise.race([work, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

async function start(config: Config, write: (text: string) => void): Promise<void> {
  const log = createLogger(config.logLevel, write, { format: config.logFormat });
  installProcessGuard({ log, exit: (code) => process.exit(code) });
  const store = await openForStart(config);
  let membership: Membership;
  try {
    membership = await joinCluster({
      store,
      instanceId: config.instanceId,
      version: relay365Version(),
      onError: (err) => log.warn("could not record this instance's heartbeat", { error: (err as Error).message }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  if (membership.others.length > 0) log.info('joined a cluster', { instance: config.instanceId, others: membership.others });
  const abandoned = removeAbandonedStaging(config.dataDir);
  if (abandoned.length > 0) log.info('removed what killed backups or restores left in the data folder', { folders: abandoned });
  const metrics = createMetrics({ version: relay365Version(), nodeVersion: process.version, instanceId: config.instanceId });
  const relay = createRelay({ config, store, log, metrics });
  const ops = createOperations({ config, store, relay, metrics });
  const alerts = createAlerts({ config, store, relay, log });
  let admin: AdminServer | null = null;
  try {
    await relay.start();
    admin = await startAdmin({ config, store, relay, log, ops, alerts });
  } catch (err) {
    // Close what did start, so that no listener outlives a failed start-up.
    await within(FAILED_START_CLEANUP_MS, Promise.allSettled([relay.stop()]));
    await membership.leave();
    await store.close();
    throw err;
  }
  const panel = admin;
  alerts.start();
  // The panel stays up while the relay drains, so health checks and metrics show the stop.
  const stop = createShutdown({
    log,
    timeoutMs: config.shutdownTimeoutMs,
    // Alerts stop first: no alert email is queued while the relay drains.
    drain: () => alerts.stop().then(() => relay.drain()),
    abandon: () => relay.abandon(),
    closeServers: () => panel.close(),
    closeStore: () => membership.leave().then(() => store.close()),
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `help`, `help COMMAND`, `COMMAND --help`: the usage to print, or null when the command line asks for something else. */
function helpFor(command: string, args: string[]): string | null {
  if (command === 'help' || command === '--help' || command === '-h') {
    const [topic] = args;
    if (topic === undefined) return USAGE;
    const usage = commandUsage(topic);
    if (usage === undefined) throw new UsageError(`unknown command "${topic}" (see relay365 help)`);
    return usage;
  }
  if (args.includes('--help') || args.includes('-h')) return commandUsage(command) ?? null;
  return null;
}

/** Runs one command line; resolves with the exit code, or null while the relay runs. */
export async function main(argv: string[]): Promise<number | null> {
  const verbose = argv.includes('--verbose');
  const [command = 'start', ...args] = argv.filter((arg) => arg !== '--verbose');
  const write = stdoutWriter();
  const note = (text: string): void => void process.stderr.write(`relay365: ${text}\n`);
  // Before any output: an admin on the wrong folder sees it at once, not after a misleading answer.
  const announce = (config: Config): void => {
    if (verbose || process.stderr.isTTY) note(`using the data folder ${config.dataDir} (RELAY365_DATA_DIR)`);
  };
  try {
    const help = helpFor(command, args);
    if (help !== null) {
      write(help);
      return 0;
    }
    if (command === 'start' || command === 'init') {
      const [extra] = args;
      if (extra !== undefined) throw new UnknownArgumentError(`relay365 ${command} takes no arguments, not ${JSON.stringify(extra)}`);
      const config = loadConfig();
      // A busy address is refused before anything else is said or created: no data folder, database or key.
      if (command === 'start') await probeListenAddresses(config);
      announce(config);
      if (command === 'init') {
        write(`${await initDataFolder(config)}\n`);
        return 0;
      }
      await start(config, write);
      return null;
    }
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}" (see relay365 help)`);
    const config = loadConfig();
    const line = (text: string): void => write(`${text}\n`);
    if (BACKUP_COMMANDS.includes(command)) {
      // Without the store: a restore needs the data folder empty, a backup only reads it.
      if (command === 'backup') checkBackupFolder(config);
      announce(config);
      await runBackupCommand(config, command, args, line, note);
      return 0;
    }
    if (command === STORE_COPY_COMMAND.name) {
      announce(config);
      await runStoreCommand(config, args, line);
      return 0;
    }
    const folder = await openDataFolder(config);
    // `doctor` runs with a wrong key to report it in its first step, then refuses it like every command.
    const store = command === 'doctor' ? folder.store : await requireRightKey(folder);
    announce(config);
    try {
      await runCommand(store, command, args, line, config, note);
    } catch (err) {
      throw folder.wrongKey ?? err;
    } finally {
      await store.close();
    }
    if (folder.wrongKey) throw folder.wrongKey;
    return 0;
  } catch (err) {
    // A second process with a running instance's id is a setting to change, like the others here.
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof DataFolderError || err instanceof ClusterError) {
      const usage = err instanceof UnknownArgumentError ? commandUsage(command) : undefined;
      process.stderr.write(`relay365: ${err.message}\n${usage ? `\n${usage}` : ''}`);
      return 2;
    }
    process.stderr.write(`relay365: ${(err as Error).message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// A failed start-up exits at once: nothing it began may keep the process alive.
if (code !== null && (process.argv[2] ?? 'start') === 'start') process.exit(code);
// A failed stdout may have set exit code 1 already.
if (code !== null) process.exitCode ||= code;
