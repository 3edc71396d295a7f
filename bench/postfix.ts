/**
 * The benchmark's reference: a private Postfix instance on a loopback port
 * whose smtpd puts every message into its hold queue
 * (`smtpd_data_restrictions = check_client_access static:HOLD`), so it
 * fsyncs each message and delivers nothing, like relay365's durable accept.
 * Postfix runs an instance from another configuration folder only when the
 * system's main.cf lists it in `alternate_config_directories`; the bench adds
 * the folder there while it runs and puts the old value back afterwards.
 * Needs root and Debian's postfix package; otherwise the reference is skipped
 * with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/relay-process.js';

const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';
export const SMTP_SOURCE = '/usr/sbin/smtp-source';

export interface PostfixHold {
  port: number;
  stop(): Promise<void>;
}

/** Why the Postfix reference cannot run here, or null when it can. */
export function postfixMissing(): string | null {
  for (const tool of [POSTFIX, POSTCONF, SMTP_SOURCE]) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      return `${tool} not found (apt-get install postfix)`;
    }
  }
  if (process.getuid?.() !== 0) return 'Postfix instances need root';
  return null;
}

const postconf = (...args: string[]): string => spawnSync(POSTCONF, args, { encoding: 'utf8' }).stdout.trim();

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`postfix exited with code ${child.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('postfix did not listen within 10 s');
}

/** Starts the hold-queue instance on a free loopback port. */
export async function startPostfixHold(): Promise<PostfixHold> {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-postfix-'));
  // Postfix's own processes run as the postfix user and must reach the folders below.
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'conf');
  const data = path.join(dir, 'data');
  mkdirSync(conf);
  mkdirSync(path.join(dir, 'queue'));
  mkdirSync(data);
  spawnSync('chown', ['postfix:postfix', data]);
  const port = await freePort();
  writeFileSync(
    path.join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${path.join(dir, 'queue')}`,
      `data_directory = ${data}`,
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'myhostname = bench.localdomain',
      'mydestination =',
      'relayhost =',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      'smtpd_data_restrictions = check_client_access static:HOLD',
      'smtpd_client_connection_count_limit = 0',
      'smtpd_client_connection_rate_limit = 0',
      'default_process_limit = 100',
      'maillog_file = /dev/stdout',
      'alias_maps =',
      'alias_database =',
      '',
    ].join('\n'),
  );
  copyFileSync('/etc/postfix/dynamicmaps.cf', path.join(conf, 'dynamicmaps.cf'));
  // One smtpd service on the bench's port, outside a chroot (the queue folder is a temporary one).
  const master = spawnSync('sed', ['-E', `s/^smtp +inet +n +- +y +- +- +smtpd/${port} inet n - n - - smtpd/`, '/etc/postfix/master.cf'], {
    encoding: 'utf8',
  }).stdout;
  writeFileSync(path.join(conf, 'master.cf'), master);

  const previous = postconf('-h', 'alternate_config_directories');
  postconf('-e', `alternate_config_directories = ${[previous, conf].filter(Boolean).join(', ')}`);
  const restore = (): void => {
    if (previous) postconf('-e', `alternate_config_directories = ${previous}`);
    else postconf('-X', 'alternate_config_directories');
  };
  spawnSync(POSTFIX, ['-c', conf, 'set-permissions'], { stdio: 'ignore' });
  // Postfix logs to its stdout here (maillog_file), which must be a file: with a pipe it exits at once.
  const logFile = path.join(dir, 'maillog');
  const log = openSync(logFile, 'a');
  const child = spawn(POSTFIX, ['-c', conf, 'start-fg'], { stdio: ['ignore', log, log] });
  closeSync(log);
  try {
    await waitForPort(port, child);
  } catch (err) {
    child.kill('SIGTERM');
    restore();
    const last = readFileSync(logFile, 'utf8').trim().split('\n').slice(-2).join(' / ');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}${last ? `: ${last}` : ''}`);
  }
  return {
    port,
    async stop() {
      spawnSync(POSTFIX, ['-c', conf, 'stop'], { stdio: 'ignore' });
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      restore();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs smtp-source (Postfix's load generator): `total` messages of `size` bytes over `sessions` parallel sessions; seconds taken. */
export function smtpSource(port: number, opts: { sessions: number; total: number; size: number; reuse: boolean }): Promise<number> {
  const args = [
    ...(opts.reuse ? ['-d'] : []),
    '-s',
    String(opts.sessions),
    '-m',
    String(opts.total),
    '-l',
    String(opts.size),
    '-f',
    'app@bench.test',
    '-t',
    'to@bench.test',
    `127.0.0.1:${port}`,
  ];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve((performance.now() - start) / 1000) : reject(new Error(`smtp-source: ${stderr.trim()}`)),
    );
  });
}
