/**
 * `relay365 doctor` as a user runs it: a child process over a data folder
 * whose email server points at the Microsoft 365 emulator. Exit code 0 only
 * when every step passes; neither the text nor --json ever holds the client
 * secret or a token.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SEED, createSigningKey, type SigningKey } from '../emulator/index.js';
import { runCli } from '../helpers/relay-process.js';
import type { DoctorReport } from '../../src/doctor/report.js';
import { startDoctorContext, type DoctorContext } from './doctor-context.js';

const JWT = /eyJ[\w-]+\.eyJ[\w-]+/;
let key: SigningKey;
let ctx: DoctorContext | undefined;
beforeAll(async () => {
  key = await createSigningKey();
});
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

const env = (c: DoctorContext): NodeJS.ProcessEnv => ({
  ...process.env,
  RELAY365_DATA_DIR: c.fx.dir,
  RELAY365_SECRET_KEY: 'ab'.repeat(32),
  RELAY365_LOG_LEVEL: 'error',
});

describe('relay365 doctor on the command line', () => {
  it('prints every step with a tick and exits 0 on a good setup, showing no secret and no token', async () => {
    ctx = await startDoctorContext(key);
    const run = await runCli(['doctor'], env(ctx));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`Email server o365 (office365, localhost:${ctx.emu.smtpPort}, tls)`);
    for (const [n, title] of ['Configuration and data folder', 'Clock', 'Network and TLS', 'Token', 'SMTP session'].entries()) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  ✓ ${n + 1}\\. ${title}: `)));
    }
    expect(run.stdout).toMatch(/✓ roles: SMTP\.SendAsApp/);
    expect(run.stdout).toMatch(/✓ AUTH XOAUTH2 as relay@contoso\.test: 235 2\.7\.0/);
    expect(run.stdout).toContain('All checks passed.');
    expect(run.stdout).not.toContain(SEED.clientSecret);
    expect(run.stdout).not.toMatch(JWT);
  });

  it('prints the report as JSON with --json for one named server', async () => {
    ctx = await startDoctorContext(key);
    const run = await runCli(['doctor', 'o365', '--json'], env(ctx));
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.servers).toHaveLength(1);
    expect(report.servers[0]?.steps.map((s) => [s.id, s.status])).toEqual([
      ['config', 'pass'],
      ['clock', 'pass'],
      ['network', 'pass'],
      ['token', 'pass'],
      ['smtp', 'pass'],
    ]);
    expect(run.stdout).not.toContain(SEED.clientSecret);
    expect(run.stdout).not.toMatch(JWT);
  });

  it('exits 1 with the fix when a step fails, in text and in JSON, without the secret', async () => {
    const wrong = 'Wr0ng~secret.value.that.must.never.be.printed';
    ctx = await startDoctorContext(key, { clientSecret: wrong });
    const text = await runCli(['doctor'], env(ctx));
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/✗ 4\. Token: Microsoft refused the token request: AADSTS7000215/);
    expect(text.stdout).toMatch(/Fix: Paste the client secret Value \(not the Secret ID\)/);
    expect(text.stdout).toMatch(/– 5\. SMTP session: not run/);
    expect(text.stderr).toBe('relay365: doctor: 1 step failed (see above)\n');
    const json = await runCli(['doctor', '--json'], env(ctx));
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as DoctorReport;
    expect(report.servers[0]?.steps.find((s) => s.id === 'token')).toMatchObject({ status: 'fail', problem: 'Invalid client secret' });
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).not.toContain(wrong);
  });

  it('refuses an unknown server name with exit code 2', async () => {
    ctx = await startDoctorContext(key);
    const run = await runCli(['doctor', 'nosuch'], env(ctx));
    expect(run).toMatchObject({ code: 2, stdout: '', stderr: 'relay365: no email server named "nosuch" (see relay365 server list)\n' });
  });
});
