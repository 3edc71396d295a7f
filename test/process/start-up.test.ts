/**
 * Start-up through the real entry point as a process: a listen address that
 * cannot be bound stops it with one line and exit code 2, before anything
 * else is printed or any data folder, database or key is created, and leaves
 * no listener behind.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endedPid, freePort, runCli, startRelay } from '../helpers/relay-process.js';

let dir: string;
let busy: net.Server;
let busyPort: number;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-start-'));
  busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as net.AddressInfo).port;
});
afterEach(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Binds and releases `port`: true when nothing else holds it. */
async function isFree(port: number): Promise<boolean> {
  const probe = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise((resolve) => probe.close(resolve));
  return ok;
}

async function startWith(overrides: NodeJS.ProcessEnv) {
  const smtpPort = await freePort();
  const adminPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RELAY365_DATA_DIR: path.join(dir, 'data'),
    RELAY365_LOG_LEVEL: 'info',
    RELAY365_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
    RELAY365_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    ...overrides,
  };
  // No RELAY365_ADMIN_EMAIL: a start-up that got as far as the panel would print a setup link.
  delete env.RELAY365_ADMIN_EMAIL;
  delete env.RELAY365_ADMIN_PASSWORD;
  return { result: await runCli(['start'], env), smtpPort };
}

/** True when start-up left the data folder uncreated: no database, no key, no spool. */
const noDataFolder = (): boolean => !existsSync(path.join(dir, 'data'));

describe('relay365 start with a listen address in use', () => {
  it('stops with exit code 2 and one line naming RELAY365_ADMIN_LISTEN when the admin port is busy, before any setup link', async () => {
    const { result, smtpPort } = await startWith({ RELAY365_ADMIN_LISTEN: `127.0.0.1:${busyPort}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `relay365: RELAY365_ADMIN_LISTEN="127.0.0.1:${busyPort}" is not valid: a free address (another program listens there) (EADDRINUSE)\n`,
    );
    expect(result.stdout).toBe('');
    expect(noDataFolder()).toBe(true);
    expect(await isFree(smtpPort)).toBe(true);
  });

  it('stops with exit code 2 and one line naming RELAY365_SMTPS_LISTEN when the SMTPS port is busy, and frees the plain port', async () => {
    const { result, smtpPort } = await startWith({ RELAY365_SMTPS_LISTEN: `127.0.0.1:${busyPort}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `relay365: RELAY365_SMTPS_LISTEN="127.0.0.1:${busyPort}" is not valid: a free address (another program listens there) (EADDRINUSE)\n`,
    );
    expect(result.stdout).toBe('');
    expect(noDataFolder()).toBe(true);
    expect(await isFree(smtpPort)).toBe(true);
  });

  it('stops with exit code 2 and one line naming RELAY365_SMTP_LISTEN when the SMTP port is busy', async () => {
    const { result } = await startWith({ RELAY365_SMTP_LISTEN: `127.0.0.1:${busyPort}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `relay365: RELAY365_SMTP_LISTEN="127.0.0.1:${busyPort}" is not valid: a free address (another program listens there) (EADDRINUSE)\n`,
    );
    expect(result.stdout).toBe('');
    expect(noDataFolder()).toBe(true);
  });

  it('stops with one line naming the second variable when two listeners are given the same address, creating nothing', async () => {
    const port = await freePort();
    const { result } = await startWith({ RELAY365_SMTP_LISTEN: `127.0.0.1:${port}`, RELAY365_ADMIN_LISTEN: `127.0.0.1:${port}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `relay365: RELAY365_ADMIN_LISTEN="127.0.0.1:${port}" is not valid: a free address (another program listens there) (EADDRINUSE)\n`,
    );
    expect(result.stdout).toBe('');
    expect(noDataFolder()).toBe(true);
  });
});

describe('start-up housekeeping', () => {
  it('removes the folders that killed backups left in the data folder', async () => {
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const left = path.join(dataDir, `.backup-${hostname()}-${await endedPid()}-Ab12Cd`);
    mkdirSync(left);
    writeFileSync(path.join(left, 'relay365.db'), 'half a copy');
    const relay = await startRelay({
      ...process.env,
      RELAY365_DATA_DIR: dataDir,
      RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
      RELAY365_SECRET_KEY: 'ab'.repeat(32),
      RELAY365_LOG_LEVEL: 'error',
    });
    try {
      expect(existsSync(left)).toBe(false);
    } finally {
      await relay.stop();
    }
  });
});
