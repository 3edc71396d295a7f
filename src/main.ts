#!/usr/bin/env node
/**
 * relay365's entry point: `relay365 [start]` runs the relay; `relay365 server …`
 * and `relay365 queue …` manage the same data folder. A bad setting or flag is
 * one line on stderr and exit code 2.
 */
// Spool files are written and fsynced on libuv's thread pool; four threads (the default)
// leave concurrent clients waiting on each other's fsyncs. Read when the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '8';

import { mkdirSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { startAdmin } from './admin/server.js';
import { runCommand } from './cli/commands.js';
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

server options:
  --method office365|password|none  --mode application|authorize  --default
  --tenant-id ID  --client-id ID  --client-secret-file FILE  --client-secret-expires YYYY-MM-DD
  --mailbox ADDRESS  --cloud global|usgov|usdod|china|custom  --authority-host URL  --smtp-resource URL
  --host HOST  --port PORT  --secure tls|ssl|none  --username USER  --password-file FILE
  --max-connections 3  --messages-per-minute 30  --recipients-per-day 10000  --from-handling keep|rewrite|reject
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
    if (command !== 'server' && command !== 'queue') throw new UsageError(`unknown command "${command}" (see relay365 help)`);
    const store = openStore(config);
    try {
      runCommand(store, command, args, (line) => process.stdout.write(`${line}\n`));
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
