#!/usr/bin/env node
/**
 * relay365's entry point: `relay365 [start]` runs the relay; `relay365 server …`,
 * `queue …`, `relay-user …` and `network …` manage the same data folder. A bad setting or flag is
 * one line on stderr and exit code 2.
 */
// Spool files are written and fsynced on libuv's thread pool; four threads (the default)
// leave concurrent clients waiting on each other's fsyncs. Read when the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

import { mkdirSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { startAdmin } from './admin/server.js';
import { COMMANDS, runCommand } from './cli/commands.js';
import { UsageError } from './cli/usage-error.js';
import { createRelay } from './relay/index.js';
import { createStore, type Store } from './store/index.js';
import { createSecretBox, loadSecretKey } from './store/secret-box.js';

const USAGE = `relay365: an SMTP relay that delivers to Microsoft 365 with OAuth 2.0

usage:
  relay365 [start]                       run the relay and its admin panel (settings from RELAY365_* environment variables)
  relay365 server add --name N [options] add an email server
  relay365 server set NAME [options]     change settings of an email server
  relay365 server list [--json]          show email servers, their status and the fix for any problem
  relay365 server remove NAME [--drop-queued]
  relay365 queue list [--json] [--server NAME] [--status STATUS] [--limit N]
  relay365 relay-user add --name N --server SERVER [--password-file FILE] [--allow-from LIST]
                                         add an SMTP AUTH user; without --password-file a password is generated and shown once (last line)
  relay365 relay-user list [--json]      show relay users, their server, allowed From and last use (never a password)
  relay365 relay-user set NAME [--server SERVER] [--allow-from LIST] [--password-file FILE] [--disabled true|false]
  relay365 relay-user remove NAME
  relay365 network add --cidr CIDR --server SERVER
                                         let a network (e.g. 192.168.10.0/24, 2001:db8::/48) relay without SMTP AUTH
  relay365 network list [--json]         show allowed networks, stored ones and those from RELAY365_RELAY_NETWORKS
  relay365 network remove --cidr CIDR

server options:
  --method office365|password|none  --mode application|authorize  --default
  --tenant-id ID  --client-id ID  --client-secret-file FILE  --client-secret-expires YYYY-MM-DD
  --mailbox ADDRESS  --cloud global|usgov|usdod|china|custom  --authority-host URL  --smtp-resource URL
  --host HOST  --port PORT  --secure tls|ssl|none  --username USER  --password-file FILE
  --max-connections 3  --messages-per-minute 30  --recipients-per-day 10000  --from-handling keep|rewrite|reject
  --send-as LIST (addresses the mailbox may send as, comma separated; "" clears)

relay-user options:
  --allow-from LIST  addresses and @domains the user may send as, comma-separated (e.g. scan@contoso.com,@contoso.com);
                     empty ('') means any sender
  --password-file FILE  a file holding the password (12 to 128 characters; a trailing newline is ignored)
`;

function openStore(config: Config): Store {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  return createStore(config.dataDir, createSecretBox(loadSecretKey(config.dataDir, config.secretKey)));
}

async function start(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const store = openStore(config);
  const relay = createRelay({ config, store, log });
  await relay.start();
  const admin = await startAdmin({ config, store, relay, log });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    admin
      .close()
      .then(() => relay.stop())
      .catch((err: unknown) => log.error('error while stopping', { error: (err as Error).message }))
      .finally(() => {
        store.close();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Runs one command line; resolves with the exit code (the relay itself keeps running). */
export async function main(argv: string[]): Promise<number | null> {
  const [command = 'start', ...args] = argv;
  try {
    if (command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    const config = loadConfig();
    if (command === 'start') {
      await start(config);
      return null;
    }
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}" (see relay365 help)`);
    const store = openStore(config);
    try {
      await runCommand(store, command, args, (line) => process.stdout.write(`${line}\n`), config);
    } finally {
      store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`relay365: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`relay365: ${(err as Error).message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== null) process.exitCode = code;
