/**
 * The command line on PostgreSQL, as an operator runs it: `init` creates the
 * schema in the database named by RELAY365_DATABASE_URL, commands work on it,
 * `store copy` moves a data folder's relay into it, and what cannot work says
 * so in one line without the URL's password.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, freshDatabase } from '../helpers/engines.js';
import { runCli } from '../helpers/relay-process.js';

const KEY = 'ab'.repeat(32);

let dir: string;
let database: { url: string; drop(): Promise<void> };

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-cli-pg-'));
  database = await freshDatabase();
});

afterEach(async () => {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  RELAY365_DATA_DIR: dir,
  RELAY365_SECRET_KEY: KEY,
  RELAY365_DATABASE_URL: database.url,
  ...extra,
});

const ADD = ['server', 'add', '--name', 'upstream', '--method', 'none', '--secure', 'none', '--host', '127.0.0.1', '--port', '25'];

describe.skipIf(!ENGINES.includes('postgres'))('the command line on PostgreSQL', () => {
  it('initialises the database, then works on it; the data folder gets no database', async () => {
    const init = await runCli(['init'], env());
    expect(init).toMatchObject({ code: 0, stderr: '' });
    expect(init.stdout).toMatch(/^the PostgreSQL database t_[0-9a-f]+ on 127\.0\.0\.1:\d+ \(RELAY365_DATABASE_URL\) has relay365's schema/);
    expect((await runCli(ADD, env())).code).toBe(0);
    const list = await runCli(['server', 'list'], env());
    expect(list.stdout).toContain('upstream');
    expect(existsSync(path.join(dir, 'relay365.db'))).toBe(false);
    const status = await runCli(['cluster', 'status'], env());
    expect(status).toMatchObject({ code: 0, stdout: 'no instance has run on this store yet\n' });
    // doctor's first step names the database server and compares clocks (the upstream's own steps fail here).
    const doctor = JSON.parse((await runCli(['doctor', '--json'], env())).stdout) as {
      servers: { steps: { id: string; checks?: { name: string; saw: string; ok: boolean }[] }[] }[];
    };
    const checks = doctor.servers[0]?.steps.find((step) => step.id === 'config')?.checks ?? [];
    expect(checks).toEqual(
      expect.arrayContaining([
        { name: 'database server', saw: expect.stringMatching(/^PostgreSQL \d+\.\d+.*, answered in \d+ ms$/), ok: true },
        {
          name: 'clock against the database server',
          saw: expect.stringMatching(/^\d+ ms (ahead|behind)$/),
          want: 'within 2000 ms',
          ok: true,
        },
      ]),
    );
    expect(await runCli(['backup', '--to', path.join(dir, 'b.tar.gz')], env())).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^relay365: relay365 backup copies the SQLite database of a data folder; .* back it up with pg_dump/),
    });
  });

  it('needs RELAY365_SECRET_KEY with a database URL, and names an unreachable database without its password', async () => {
    const noKey = await runCli(['server', 'list'], env({ RELAY365_SECRET_KEY: '' }));
    expect(noKey).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('RELAY365_DATABASE_URL="(hidden)" is not valid: set only with RELAY365_SECRET_KEY'),
    });
    const unreachable = await runCli(
      ['server', 'list'],
      env({ RELAY365_DATABASE_URL: 'postgres://relay365:hunter2secret@127.0.0.1:1/relay365' }),
    );
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(
      /^relay365: cannot open the PostgreSQL database relay365 on 127\.0\.0\.1:1 \(RELAY365_DATABASE_URL\): .*ECONNREFUSED/,
    );
    expect(unreachable.stderr + unreachable.stdout).not.toContain('hunter2secret');
  });

  it('copies a data folder relay into an empty database with store copy, and refuses to copy twice', async () => {
    const folder = { ...env(), RELAY365_DATABASE_URL: '' };
    expect((await runCli(['init'], folder)).code).toBe(0);
    expect((await runCli(ADD, folder)).code).toBe(0);
    const copied = await runCli(['store', 'copy', '--to', database.url], folder);
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    expect(copied.stdout).toMatch(/^copied .*relay365\.db into the PostgreSQL database t_[0-9a-f]+ on 127\.0\.0\.1:\d+: servers 1/);
    expect((await runCli(['server', 'list'], env())).stdout).toContain('upstream');
    const again = await runCli(['store', 'copy'], { ...folder, RELAY365_DATABASE_URL: database.url });
    expect(again).toMatchObject({ code: 2, stderr: expect.stringContaining('the target database is not empty (it has servers') });
  });
});
