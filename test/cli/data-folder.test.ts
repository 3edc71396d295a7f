/**
 * The command line never invents a data folder or a key: only `start`, `init`
 * and `restore` create them; every other command refuses a folder without a
 * database, a database without its key and a key that does not open its
 * secrets, with exit code 2 and one line, and creates nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { plainServer } from '../helpers/fixture.js';
import { runCli } from '../helpers/relay-process.js';

const KEY = 'ab'.repeat(32);
const OTHER_KEY = 'cd'.repeat(32);
/** Commands that read the relay's data; none may create a folder, a database or a key. */
const READERS = [['queue', 'list'], ['server', 'list'], ['doctor'], ['network', 'list']];

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'relay365-data-folder-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The environment of a command line on `dataDir`, without the test runner's own key variables. */
function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { RELAY365_SECRET_KEY: _key, RELAY365_SECRET_KEY_FILE: _keyFile, ...inherited } = process.env;
  return { ...inherited, RELAY365_DATA_DIR: dataDir, RELAY365_LOG_LEVEL: 'error', ...extra };
}

/** A data folder set up with `key`, holding a server with a sealed password but no check value (as before the check existed). */
async function olderFolder(dir: string, key: string): Promise<void> {
  const store = createStore(dir, createSecretBox(Buffer.from(key, 'hex')));
  store.sync.servers.add(plainServer({ name: 'upstream', method: 'password', username: 'relay', password: 'a password of some length' }));
  await store.close();
}

describe('a data folder without a database', () => {
  it('is refused by every reading command with exit code 2 and one line naming the path and RELAY365_DATA_DIR, and nothing is created', async () => {
    const missing = path.join(root, 'nowhere');
    for (const args of [...READERS, ['backup', '--to', path.join(root, 'b.tar.gz')]]) {
      const run = await runCli(args, cliEnv(missing));
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `relay365: there is no relay365 database (relay365.db) in ${missing}: set RELAY365_DATA_DIR to the data folder relay365 runs with, or create a new one there with relay365 init\n`,
      );
    }
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it('stays empty when a command is refused on it', async () => {
    const empty = path.join(root, 'data');
    mkdirSync(empty);
    for (const args of READERS)
      expect(await runCli(args, cliEnv(empty))).toMatchObject({
        code: 2,
        stdout: '',
        stderr: expect.stringContaining(`in ${empty}: set RELAY365_DATA_DIR`),
      });
    expect(readdirSync(empty)).toEqual([]);
  });

  it('is set up by init, which says where, and server list then works on it', async () => {
    const dir = path.join(root, 'data');
    const init = await runCli(['init'], cliEnv(dir));
    expect(init).toMatchObject({ code: 0, stderr: '' });
    expect(init.stdout).toBe(
      `set up the data folder ${dir} (RELAY365_DATA_DIR): database relay365.db; a new encryption key in ${path.join(dir, 'secret.key')}: back it up, the stored secrets cannot be read without it\n`,
    );
    expect(
      readdirSync(dir)
        .filter((name) => !name.startsWith('relay365.db-'))
        .sort(),
    ).toEqual(['relay365.db', 'secret.key']);
    const list = await runCli(['server', 'list'], cliEnv(dir));
    expect(list).toEqual({ code: 0, stdout: 'no email servers; add one with relay365 server add --name NAME ...\n', stderr: '' });
    const again = await runCli(['init'], cliEnv(dir));
    expect(again).toMatchObject({ code: 0, stdout: `${dir} (RELAY365_DATA_DIR) has a relay365 database already; nothing was created\n` });
  });

  it('gets no key file from init when RELAY365_SECRET_KEY is set', async () => {
    const dir = path.join(root, 'data');
    const init = await runCli(['init'], cliEnv(dir, { RELAY365_SECRET_KEY: KEY }));
    expect(init.stdout).toContain('the encryption key comes from RELAY365_SECRET_KEY (no key file written)');
    expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
  });
});

describe('a database without its key', () => {
  it('is refused, naming RELAY365_SECRET_KEY and secret.key, and no key is written', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    for (const args of [['queue', 'list'], ['init'], ['doctor']]) {
      const run = await runCli(args, cliEnv(dir));
      expect(run).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr).toBe(
        `relay365: there is no encryption key for the database in ${dir}: set RELAY365_SECRET_KEY to the key relay365 runs with, or put its secret.key back into that folder\n`,
      );
    }
    expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
  });

  it('is not given a new key by start either when it holds sealed secrets', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    const start = await runCli(['start'], cliEnv(dir, { RELAY365_SMTP_LISTEN: '127.0.0.1:0', RELAY365_ADMIN_LISTEN: '127.0.0.1:0' }));
    expect(start).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^relay365: there is no encryption key for the database in .*\n$/),
    });
    expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
  });
});

describe('a key that does not open the database', () => {
  it('is reported as a wrong key by queue list, for a database from before the check value and one with it', async () => {
    const older = path.join(root, 'older');
    await olderFolder(older, KEY);
    const fresh = path.join(root, 'fresh');
    expect((await runCli(['init'], cliEnv(fresh, { RELAY365_SECRET_KEY: KEY }))).code).toBe(0);
    for (const dir of [older, fresh]) {
      const run = await runCli(['queue', 'list'], cliEnv(dir, { RELAY365_SECRET_KEY: OTHER_KEY }));
      expect(run).toEqual({
        code: 2,
        stdout: '',
        stderr: `relay365: the key in RELAY365_SECRET_KEY does not open the secrets sealed in ${path.join(dir, 'relay365.db')}: it is the wrong key; set RELAY365_SECRET_KEY to the key relay365 runs with\n`,
      });
    }
  });

  it('is reported as a wrong key file, naming it, and the file is left alone', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    const keyFile = path.join(dir, 'secret.key');
    writeFileSync(keyFile, `${OTHER_KEY}\n`, { mode: 0o600 });
    const run = await runCli(['server', 'list'], cliEnv(dir));
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe(
      `relay365: the key in ${keyFile} does not open the secrets sealed in ${path.join(dir, 'relay365.db')}: it is the wrong key; put back the secret.key relay365 runs with, or set RELAY365_SECRET_KEY to its key\n`,
    );
    expect(readFileSync(keyFile, 'utf8')).toBe(`${OTHER_KEY}\n`);
  });

  it('fails the first step of doctor as a wrong key, then exits 2 with the same line', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    const run = await runCli(['doctor'], cliEnv(dir, { RELAY365_SECRET_KEY: OTHER_KEY }));
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('✗ encryption key: the key from RELAY365_SECRET_KEY does not open the secrets sealed in the database');
    expect(run.stdout).toContain('Fix: Set RELAY365_SECRET_KEY to the key relay365 runs with');
    expect(run.stderr).toMatch(
      /^relay365: the key in RELAY365_SECRET_KEY does not open the secrets sealed in .*: it is the wrong key; .*\n$/,
    );
  });

  it('stops start with exit code 2 and one line before it listens', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    const env = cliEnv(dir, { RELAY365_SECRET_KEY: OTHER_KEY, RELAY365_SMTP_LISTEN: '127.0.0.1:0', RELAY365_ADMIN_LISTEN: '127.0.0.1:0' });
    const start = await runCli(['start'], env);
    expect(start).toEqual({
      code: 2,
      stdout: '',
      stderr: `relay365: the key in RELAY365_SECRET_KEY does not open the secrets sealed in ${path.join(dir, 'relay365.db')}: it is the wrong key; set RELAY365_SECRET_KEY to the key relay365 runs with\n`,
    });
  });
});

describe('which data folder a command uses', () => {
  it('says so first with --verbose', async () => {
    const dir = path.join(root, 'data');
    await olderFolder(dir, KEY);
    const run = await runCli(['queue', 'list', '--verbose'], cliEnv(dir, { RELAY365_SECRET_KEY: KEY }));
    expect(run).toEqual({
      code: 0,
      stdout: 'the queue is empty\n',
      stderr: `relay365: using the data folder ${dir} (RELAY365_DATA_DIR)\n`,
    });
  });

  it('lists init in relay365 help', async () => {
    const help = await runCli(['help'], cliEnv(path.join(root, 'unused')));
    expect(help.stdout).toMatch(/^ {2}relay365 init {2,}create the data folder/m);
    expect(help.stdout).toContain('--verbose');
    expect(existsSync(path.join(root, 'unused'))).toBe(false);
  });
});
