/**
 * `relay365 doctor` against the Microsoft 365 emulator: a good setup passes
 * every step, and each broken thing makes exactly its own step fail with the
 * fix from the hint table, the steps after it that depend on it skipped.
 */
import { chmodSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { SEED, createSigningKey, type SigningKey } from '../emulator/index.js';
import { freePort } from '../helpers/relay-process.js';
import { formatReport } from '../../src/doctor/format.js';
import { emulatorServer } from '../helpers/office365.js';
import { startDoctorContext, statuses, step, type DoctorContext } from './doctor-context.js';

let key: SigningKey;
let ctx: DoctorContext | undefined;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  key = await createSigningKey();
});
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
  for (const close of closers.splice(0)) await close();
});

const ALL_PASS = { config: 'pass', clock: 'pass', network: 'pass', token: 'pass', smtp: 'pass' };

/** Damages the database as a bad disk could: an index that no longer matches its table's rows. */
function breakAnIndex({ fx }: DoctorContext): void {
  const db = fx.store.db;
  db.exec('CREATE TABLE probe_t (a); CREATE INDEX probe_i ON probe_t (a); INSERT INTO probe_t VALUES (1), (2);');
  const version = db.pragma('schema_version', { simple: true }) as number;
  // Only a test rewrites the schema behind SQLite's back; unsafe mode lets it.
  db.unsafeMode(true);
  db.pragma('writable_schema = ON');
  db.prepare(`UPDATE sqlite_master SET sql = 'CREATE INDEX probe_i ON probe_t (a DESC)' WHERE name = 'probe_i'`).run();
  db.pragma(`schema_version = ${version + 1}`);
  db.pragma('writable_schema = OFF');
  db.unsafeMode(false);
}

describe('relay365 doctor', () => {
  it('passes every step for a good application sign-in setup, comparing each claim', async () => {
    ctx = await startDoctorContext(key);
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(report.ok).toBe(true);
    const claims = Object.fromEntries(step(report, 'token').checks.map((c) => [c.name, c]));
    expect(claims['aud']).toMatchObject({ saw: 'https://outlook.office365.com', ok: true });
    expect(claims['roles']).toMatchObject({ saw: 'SMTP.SendAsApp', ok: true });
    expect(claims['tid']).toMatchObject({ saw: SEED.tenantId, ok: true });
    expect(claims['appid']).toMatchObject({ saw: SEED.clientId, ok: true });
    expect(claims['exp']?.ok).toBe(true);
    expect(
      step(report, 'smtp')
        .checks.map((c) => c.saw)
        .join('\n'),
    ).toMatch(/^235 2\.7\.0 Authentication successful/m);
    expect(step(report, 'network').checks.find((c) => c.name === 'certificate trusted')?.ok).toBe(true);
    // The session authenticated and quit without sending anything.
    expect(ctx.emu.exchange.messages).toHaveLength(0);
  });

  it('fails only the token step for a wrong client secret, with the AADSTS7000215 fix', async () => {
    ctx = await startDoctorContext(key, { clientSecret: SEED.clientSecretId });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, token: 'fail', smtp: 'skip' });
    expect(step(report, 'token').saw).toContain('AADSTS7000215');
    expect(step(report, 'token').fix).toMatch(/Value \(not the Secret ID\)/);
    expect(step(report, 'smtp').blocked).toBe(true);
  });

  it("shows Microsoft's refusal of the token in the server's status at once, but not a server never authorized", async () => {
    ctx = await startDoctorContext(key, { clientSecret: SEED.clientSecretId });
    ctx.fx.store.sync.servers.setStatus(ctx.serverId, { status: 'authorized', account: SEED.mailbox });
    await ctx.run();
    expect(ctx.fx.store.sync.servers.get(ctx.serverId)).toMatchObject({
      status: 'error',
      statusCode: 'AADSTS7000215',
      statusHint: expect.stringMatching(/^Invalid client secret\. Paste the client secret Value \(not the Secret ID\)/),
    });

    const waiting = ctx.fx.store.sync.servers.add(emulatorServer(ctx.emu, { name: 'not yet', signInMode: 'authorize', mailbox: null }));
    const report = await ctx.run();
    expect(report.servers[1]?.steps.find((s) => s.id === 'token')?.saw).toContain('no_account');
    expect(ctx.fx.store.sync.servers.get(waiting.id)).toMatchObject({ status: 'not_authorized', statusCode: null });
  });

  it('fails only the token step for an expired client secret, with the AADSTS7000222 fix', async () => {
    ctx = await startDoctorContext(key);
    const secret = ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).secrets[0];
    if (secret) secret.expiresAt = new Date(Date.now() - 60_000);
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, token: 'fail', smtp: 'skip' });
    expect(step(report, 'token').saw).toContain('AADSTS7000222');
    expect(step(report, 'token').fix).toMatch(/new client secret/);
  });

  it('fails only the token step for an app without SMTP.SendAsApp, naming the missing role', async () => {
    ctx = await startDoctorContext(key);
    ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).smtpSendAsAppConsented = false;
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, token: 'fail', smtp: 'skip' });
    const roles = step(report, 'token').checks.find((c) => c.name === 'roles');
    expect(roles).toMatchObject({ saw: '(none)', want: 'SMTP.SendAsApp', ok: false });
    expect(step(report, 'token').fix).toMatch(/SMTP\.SendAsApp.*Grant admin consent/);
  });

  it('fails only the token step for a wrong tenant, with the AADSTS90002 fix', async () => {
    ctx = await startDoctorContext(key, { tenantId: '00000000-1111-4222-8333-444444444444' });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, token: 'fail', smtp: 'skip' });
    expect(step(report, 'token').saw).toContain('AADSTS90002');
    expect(step(report, 'token').fix).toMatch(/Tenant ID/);
  });

  it('fails only the SMTP step for a mailbox the app was not granted, with the Add-MailboxPermission fix', async () => {
    ctx = await startDoctorContext(key);
    ctx.emu.directory.getMailbox(SEED.mailbox).fullAccess = [];
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, smtp: 'fail' });
    expect(step(report, 'smtp').saw).toMatch(/535 5\.7\.3/);
    expect(step(report, 'smtp').fix).toMatch(/Add-MailboxPermission/);
  });

  it('fails only the SMTP step when SMTP AUTH is disabled for the mailbox, with the 5.7.139 fix', async () => {
    ctx = await startDoctorContext(key);
    ctx.emu.directory.getMailbox(SEED.mailbox).smtpAuthEnabled = false;
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, smtp: 'fail' });
    expect(step(report, 'smtp').saw).toMatch(/535 5\.7\.139/);
    expect(step(report, 'smtp').fix).toMatch(/Authenticated SMTP.*Set-CASMailbox/);
  });

  it('fails only the network step when the port is closed', async () => {
    const closed = await freePort();
    ctx = await startDoctorContext(key, { port: closed });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, network: 'fail', smtp: 'skip' });
    expect(step(report, 'network').saw).toMatch(/ECONNREFUSED/);
    expect(step(report, 'network').fix).toMatch(/Server Port/);
  });

  it('fails only the network step for an untrusted certificate', async () => {
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
    const rogue = new SMTPServer({ key: pems.private, cert: pems.cert, authOptional: true, logger: false, disableReverseLookup: true });
    await new Promise<void>((resolve) => rogue.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => rogue.close(() => resolve())));
    const port = (rogue.server.address() as { port: number }).port;
    ctx = await startDoctorContext(key, { port });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, network: 'fail', smtp: 'skip' });
    const trust = step(report, 'network').checks.find((c) => c.name === 'certificate trusted');
    expect(trust).toMatchObject({ ok: false });
    expect(trust?.saw).toMatch(/SELF_SIGNED/);
    expect(step(report, 'network').fix).toMatch(/not signed by a certificate authority this machine trusts/);
  });

  it('fails only the clock step when the local clock is ten minutes ahead, saying how to turn on time sync', async () => {
    ctx = await startDoctorContext(key);
    const report = await ctx.run({ now: () => Date.now() + 10 * 60_000 });
    expect(statuses(report)).toEqual({ ...ALL_PASS, clock: 'fail' });
    expect(step(report, 'clock').saw).toMatch(/10 min ahead of/);
    expect(step(report, 'clock').problem).toMatch(/nbf and exp/);
    expect(step(report, 'clock').fix).toMatch(/timedatectl set-ntp true/);
  });

  it('fails only the first step when the data folder is readable by others', async () => {
    ctx = await startDoctorContext(key);
    chmodSync(ctx.fx.dir, 0o755);
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, config: 'fail' });
    expect(step(report, 'config').fix).toMatch(/chmod 700/);
  });

  it('fails the first step on a key that does not open the stored secrets, naming RELAY365_SECRET_KEY, and blames no setting', async () => {
    ctx = await startDoctorContext(key);
    const report = await ctx.run({ secretKey: 'cd'.repeat(32) });
    const first = step(report, 'config');
    expect(first.status).toBe('fail');
    expect(first.checks.find((c) => c.name === 'encryption key')).toMatchObject({
      ok: false,
      saw: 'the key from RELAY365_SECRET_KEY does not open the secrets sealed in the database',
    });
    expect(first.problem).toBe('Problem with the encryption key');
    expect(first.fix).toMatch(/^Set RELAY365_SECRET_KEY to the key relay365 runs with/);
    expect(step(report, 'token')).toMatchObject({ status: 'skip', saw: expect.stringContaining('encryption key') });
    expect(step(report, 'smtp').status).toBe('skip');
  });

  it("fails only the first step on a database that fails SQLite's integrity check, naming the problem and the restore", async () => {
    ctx = await startDoctorContext(key);
    breakAnIndex(ctx);
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, config: 'fail' });
    expect(step(report, 'config').checks.find((c) => c.name === 'database integrity')).toMatchObject({
      ok: false,
      saw: expect.stringMatching(/^row \d+ missing from index probe_i$/),
    });
    expect(step(report, 'config').fix).toMatch(/restore the data folder from a backup \(relay365 restore\)/);
  });

  it('passes the first step with the key the secrets were sealed with', async () => {
    ctx = await startDoctorContext(key);
    const report = await ctx.run();
    expect(step(report, 'config').checks.find((c) => c.name === 'encryption key')).toMatchObject({
      ok: true,
      saw: 'from RELAY365_SECRET_KEY, opens the sealed secrets',
    });
  });

  it('fails only the first step when a sign-in setting is missing, skipping the steps that need it', async () => {
    ctx = await startDoctorContext(key, { clientSecret: null });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ config: 'fail', clock: 'skip', network: 'pass', token: 'skip', smtp: 'skip' });
    expect(step(report, 'config').saw).toContain('email server settings: Office 365 Client Secret or Office 365 Client Certificate not set');
    expect(step(report, 'config').fix).toMatch(/relay365 server set o365/);
    expect(step(report, 'token')).toMatchObject({ blocked: true, saw: 'not run: settings are missing (step 1)' });
  });

  it('passes a password server without TLS, skipping the Microsoft steps as not applying', async () => {
    const logins: string[] = [];
    const plain = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      disableReverseLookup: true,
      onAuth: (auth, _session, callback) => {
        logins.push(`${auth.method} ${auth.username}:${auth.password}`);
        callback(null, { user: auth.username });
      },
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => plain.close(() => resolve())));
    const port = (plain.server.address() as { port: number }).port;
    ctx = await startDoctorContext(key, {
      method: 'password',
      secure: 'none',
      host: '127.0.0.1',
      port,
      username: 'scanner',
      password: 'Printer-Pass-1234',
    });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, clock: 'skip', token: 'skip' });
    expect(report.ok).toBe(true);
    expect(step(report, 'token').blocked).toBe(false);
    expect(logins).toEqual(['PLAIN scanner:Printer-Pass-1234']);
    expect(JSON.stringify(report)).not.toContain('Printer-Pass-1234');
  });

  it('prints the steps with marks and never the secret or a token', async () => {
    ctx = await startDoctorContext(key, { clientSecret: SEED.clientSecretId });
    const text = formatReport(await ctx.run()).join('\n');
    expect(text).toMatch(/✓ 1\. Configuration and data folder/);
    expect(text).toMatch(/✗ 4\. Token: Microsoft refused the token request: AADSTS7000215/);
    expect(text).toMatch(/– 5\. SMTP session: not run/);
    expect(text).toMatch(/Fix: Paste the client secret Value/);
    expect(text).not.toContain(SEED.clientSecretId);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});
