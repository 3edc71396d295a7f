/**
 * The command line's edges, through the real entry point: unknown options and
 * subcommands, per-command help, a reader that goes away early (EPIPE), and a
 * list cut at its limit.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandUsage } from '../../src/cli/usage.js';
import { createStore } from '../../src/store/index.js';
import { createSecretBox, loadSecretKey } from '../../src/store/secret-box.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { collectOutput, runCli } from '../helpers/relay-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MESSAGES = 1500;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-cli-edges-'));
  env = { ...process.env, RELAY365_DATA_DIR: dir, RELAY365_LOG_LEVEL: 'error' };
  const store = createStore(dir, createSecretBox(loadSecretKey(dir, null)));
  const server = store.sync.servers.add(plainServer({ name: 'office365' }), true);
  // Enough lines (about 150 kB) that the output outlasts a pipe's buffer.
  store.sync.queue.insert(
    Array.from({ length: MESSAGES }, (_, i) =>
      queuedMessage(`MSG${String(i).padStart(5, '0')}`, server.id, {
        mailFrom: 'scanner@contoso.test',
        recipients: ['someone@contoso.test'],
        size: 1234,
        receivedAt: 1_700_000_000_000 + i,
        expiresAt: 1_800_000_000_000,
      }),
    ),
  );
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('relay365 help per command', () => {
  it('prints one command\'s usage for "help queue" and for "queue --help", and nothing on stderr', async () => {
    const usage = commandUsage('queue');
    expect(usage).toContain('relay365 queue list [--json] [--server NAME] [--status STATUS] [--limit N]');
    for (const args of [
      ['help', 'queue'],
      ['queue', '--help'],
      ['queue', 'list', '-h'],
    ]) {
      expect(await runCli(args, env)).toEqual({ code: 0, stdout: usage, stderr: '' });
    }
    const relayUsers = await runCli(['relay-user', '--help'], env);
    expect(relayUsers.stdout).toContain('relay365 relay-user add');
    expect(relayUsers.stdout).not.toContain('relay365 queue');
  });

  it('refuses help for a command relay365 does not have', async () => {
    expect(await runCli(['help', 'frobnicate'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'relay365: unknown command "frobnicate" (see relay365 help)\n',
    });
  });
});

describe('relay365 with an unknown option or subcommand', () => {
  it.each([
    [['queue', 'list', '--bogus'], "Unknown option '--bogus': use --json, --server, --status, --limit", 'queue'],
    [['queue', 'flush'], 'unknown command "queue flush": use queue list, show, retry or delete', 'queue'],
    [['network', 'list', '--all'], "Unknown option '--all': use --json", 'network'],
    [['server', 'rename'], 'unknown command "server rename": use server add, list, set or remove', 'server'],
    [['start', '--port', '25'], 'relay365 start takes no arguments, not "--port"', 'start'],
  ])("%j: one line, then that command's usage, exit code 2", async (args, line, command) => {
    expect(await runCli(args, env)).toEqual({ code: 2, stdout: '', stderr: `relay365: ${line}\n\n${commandUsage(command)}` });
  });
});

describe('relay365 queue list', () => {
  const lines = (text: string): string[] => text.split('\n').filter(Boolean);

  it('says when it cut the list at the default 100', async () => {
    const result = await runCli(['queue', 'list'], env);
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(100);
    expect(result.stdout).toMatch(/^MSG01499 /);
    expect(result.stderr).toBe(`relay365: showing the first 100 of ${MESSAGES} (newest first); use --limit ${MESSAGES} to see them all\n`);
  });

  it('says nothing more when the limit covers every message', async () => {
    const result = await runCli(['queue', 'list', '--status', 'queued', '--limit', String(MESSAGES)], env);
    expect(lines(result.stdout)).toHaveLength(MESSAGES);
    expect(result.stderr).toBe('');
  });

  it('accepts --limit 1000000, capped at 100000 with a note', async () => {
    const result = await runCli(['queue', 'list', '--limit', '1000000', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(MESSAGES);
    expect(result.stderr).toBe('relay365: --limit 1000000 is more than queue list shows at once; showing at most 100000\n');
  });

  it.each(['0', '-5', '1e3', 'ten'])('refuses --limit=%s with one line', async (limit) => {
    const result = await runCli(['queue', 'list', `--limit=${limit}`], env);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(`relay365: --limit ${JSON.stringify(limit)} is not valid: a whole number of 1 or more, e.g. --limit 500\n`);
  });

  it.each([
    [['--limit', '-5'], '--limit is followed by "-5", which looks like an option; if it is the value, write --limit=-5'],
    [['--limit'], '--limit needs a value'],
    [['--json=yes'], '--json takes no value'],
  ])('explains a flag given without its value or with one it does not take: %j', async (flags, line) => {
    expect(await runCli(['queue', 'list', ...flags], env)).toEqual({ code: 2, stdout: '', stderr: `relay365: ${line}\n` });
  });

  it('says once that stdout failed, with exit code 1, when the output cannot be written (relay365 queue list > /dev/full)', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'queue', 'list'], {
        env,
        cwd: ROOT,
        stdio: ['ignore', full, 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain('relay365: cannot write to stdout (ENOSPC); the output from here on is lost\n');
      expect(stderr).not.toContain('    at ');
    } finally {
      closeSync(full);
    }
  });

  it('ends quietly when its reader stops early (queue list | head -1)', async () => {
    const main = path.join(ROOT, 'src/main.ts');
    // bash reports the relay365 side of the pipe in PIPESTATUS.
    const script = `"${process.execPath}" --import tsx "${main}" queue list --limit ${MESSAGES} | head -1; echo "relay365 exit $\{PIPESTATUS[0]}" >&2`;
    const result = await collectOutput(spawn('bash', ['-c', script], { env, cwd: ROOT }), 30_000, 'queue list | head -1');
    expect(lines(result.stdout)).toHaveLength(1);
    expect(result.stdout).toMatch(/^MSG01499 /);
    expect(result.stderr).toBe('relay365 exit 0\n');
  });
});
