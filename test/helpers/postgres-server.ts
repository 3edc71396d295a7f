/**
 * A private PostgreSQL server for tests and benchmarks, from Debian's
 * `postgresql` package: initdb into a temp folder, listening on one loopback
 * port only (no Unix socket elsewhere), trust authentication for loopback.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './relay-process.js';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser's URL. */
  url: string;
  port: number;
  /** Stops the server (fast shutdown) and deletes its folder. */
  stop(): Promise<void>;
  /** Stops the server with `mode` and keeps its folder, for `start()` again. */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
}

/** The newest installed PostgreSQL's bin folder, or null. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : path.join(root, versions[0], 'bin');
}

/** Runs as the `postgres` user when we are root. */
function asOwner(bin: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

export interface StartOptions {
  /** fsync of WAL and data files (off for tests: no power is cut; on for benchmarks). */
  fsync?: boolean;
}

/** Starts a private server; throws when Debian's postgresql package is missing. */
export async function startPostgres({ fsync = false }: StartOptions = {}): Promise<PostgresServer> {
  const bin = postgresBin();
  if (bin === null) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)');
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-pg-'));
  const data = path.join(dir, 'data');
  if (userInfo().uid === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  chmodSync(dir, 0o700);
  const [initdb, initArgs] = asOwner(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(initdb, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pgCtl = (args: string[]): void => {
    const [command, all] = asOwner(path.join(bin, 'pg_ctl'), ['-D', data, ...args]);
    execFileSync(command, all, { stdio: 'ignore', timeout: 60_000 });
  };
  const options = [
    `-c port=${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    `-c fsync=${fsync ? 'on' : 'off'}`,
    '-c max_connections=300',
    '-c shared_buffers=64MB',
  ].join(' ');
  const start = async (): Promise<void> => {
    pgCtl(['-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  };
  const halt = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    pgCtl(['-m', mode, '-w', 'stop']);
  };
  await start();
  return {
    url,
    port,
    start,
    halt,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new, empty database `name` on the server whose superuser URL is `adminUrl`; its URL, and `drop`, which deletes it (closing what is still connected). */
export async function createDatabase(adminUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const run = async (sql: string): Promise<void> => {
    const client = new pg.Client(adminUrl);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
