import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { silentLogger } from '../../src/log.js';
import { createRefusals, REFUSAL_HINTS, type Refusal } from '../../src/relay/refusals.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { runCli } from '../helpers/relay-process.js';

const T0 = Date.parse('2030-05-01T10:00:00Z');

let fx: Fixture;
beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

/** Records refusals as the relay does, one a minute from T0 (a repeated one 30 s after the one before). */
async function record(refusals: Refusal[]): Promise<void> {
  const clock = { now: T0 };
  const recorder = createRefusals({ store: fx.store, log: silentLogger, now: () => clock.now });
  for (const refusal of refusals) {
    recorder.record(refusal);
    await recorder.flush();
    clock.now += 30_000;
  }
}

/** Runs a command in this process; resolves with its output lines and its notes. */
async function run(...argv: string[]): Promise<{ lines: string[]; notes: string[] }> {
  const lines: string[] = [];
  const notes: string[] = [];
  await runCommand(
    fx.store,
    argv[0] as string,
    argv.slice(1),
    (line) => lines.push(line),
    fx.config,
    (line) => notes.push(line),
  );
  return { lines, notes };
}

const SEED: Refusal[] = [
  { reason: 'tls_failed', client: '192.168.10.7', detail: 'TLS handshake failed: offered TLSv1, required TLSv1.2', hint: 'Lower it.' },
  { reason: 'relay_denied', client: '203.0.113.50', detail: '550 5.7.1 Relaying denied' },
  { reason: 'relay_denied', client: '203.0.113.50', detail: '550 5.7.1 Relaying denied' },
  { reason: 'auth_failed', client: '192.168.11.9', detail: '535 5.7.8 Authentication failed', username: 'scanner-7' },
];

describe('relay365 refused list', () => {
  it('prints each refusal, most recently seen first, with its count and fix', async () => {
    await record(SEED);
    expect((await run('refused', 'list')).lines).toEqual([
      `2030-05-01 10:01:30 UTC 192.168.11.9 Login failed: 535 5.7.8 Authentication failed | username scanner-7`,
      `  fix: ${REFUSAL_HINTS.auth_failed}`,
      `2030-05-01 10:01:00 UTC 203.0.113.50 Relaying denied (2 times since 2030-05-01 10:00:30 UTC): 550 5.7.1 Relaying denied`,
      `  fix: ${REFUSAL_HINTS.relay_denied}`,
      `2030-05-01 10:00:00 UTC 192.168.10.7 TLS handshake failed: TLS handshake failed: offered TLSv1, required TLSv1.2`,
      '  fix: Lower it.',
    ]);
  });

  it('filters by client address start and reason, and says when nothing matches', async () => {
    await record(SEED);
    const first = async (...args: string[]): Promise<string[]> =>
      (await run('refused', 'list', ...args)).lines.filter((l) => !l.startsWith(' '));
    expect(await first('--client', '192.168.')).toEqual([
      expect.stringContaining(' 192.168.11.9 '),
      expect.stringContaining(' 192.168.10.7 '),
    ]);
    expect(await first('--reason', 'relay_denied')).toEqual([expect.stringContaining(' 203.0.113.50 ')]);
    expect(await first('--client', '192.168.', '--reason', 'tls_failed')).toEqual([expect.stringContaining(' 192.168.10.7 ')]);
    expect(await first('--client', '10.')).toEqual(['no refusals match']);
  });

  it('says nothing has been refused on a fresh relay', async () => {
    expect((await run('refused', 'list')).lines).toEqual(['nothing has been refused']);
  });

  it('prints JSON with --json and notes when --limit leaves some out', async () => {
    await record(SEED);
    const { lines, notes } = await run('refused', 'list', '--json', '--limit', '2');
    expect(JSON.parse(lines.join('\n'))).toEqual([
      expect.objectContaining({ client: '192.168.11.9', reason: 'auth_failed', label: 'Login failed', username: 'scanner-7', count: 1 }),
      expect.objectContaining({
        client: '203.0.113.50',
        count: 2,
        firstAt: '2030-05-01T10:00:30.000Z',
        lastAt: '2030-05-01T10:01:00.000Z',
        hint: REFUSAL_HINTS.relay_denied,
      }),
    ]);
    expect(notes).toEqual(['showing the 2 most recent; use --limit to see more']);
  });

  it('refuses bad flags with one line naming the flag and what is allowed', async () => {
    const refusal = (...args: string[]) =>
      run('refused', ...args).then(
        () => 'accepted',
        (err: Error) => `${err.constructor.name}: ${err.message}`,
      );
    expect(await refusal('list', '--reason', 'bored')).toMatch(
      /^UsageError: --reason "bored" is not valid: choose one of relay_denied, auth_failed, .*proxy_refused$/,
    );
    expect(await refusal('list', '--limit', '0')).toBe(
      'UsageError: --limit "0" is not valid: a whole number of 1 or more, e.g. --limit 500',
    );
    expect(await refusal('list', '--client', ' ')).toMatch(/^UsageError: --client " " is not valid/);
    expect(await refusal('list', 'extra')).toMatch(/^UsageError: unexpected argument "extra"/);
    expect(await refusal('show')).toMatch(/^UnknownArgumentError: unknown command "refused show": use refused list$/);
    await expect(run('refused', 'list', '--reason', 'bored')).rejects.toBeInstanceOf(UsageError);
  });

  it('answers through the real command line, exit code 2 and the usage for an unknown option', async () => {
    await record(SEED);
    const env = { ...process.env, RELAY365_DATA_DIR: fx.dir, RELAY365_SECRET_KEY: 'ab'.repeat(32), RELAY365_LOG_LEVEL: 'error' };
    const listed = await runCli(['refused', 'list', '--reason', 'tls_failed'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('192.168.10.7 TLS handshake failed');
    const wrong = await runCli(['refused', 'list', '--colour'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Unknown option '--colour': use --client, --reason, --limit, --json");
    expect(wrong.stderr).toContain('relay365 refused list [--client ADDR] [--reason REASON] [--limit N] [--json]');
  });
});
