/**
 * `relay365 doctor` for a server that sends via Microsoft Graph, against the
 * emulator's Graph endpoint: the network step reaches Graph over HTTPS, the
 * token step compares a Graph token's audience and mail permissions, and the
 * Graph step resolves the mailbox and asks whether the token may send from it
 * without ever sending. Each broken thing fails its own step with the fix.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authorizeUrl, createPkce, finishAuthorization } from '../../src/auth/authorize.js';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { formatReport } from '../../src/doctor/format.js';
import type { DoctorReport } from '../../src/doctor/report.js';
import { silentLogger } from '../../src/log.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { SEED, createSigningKey, type SigningKey } from '../emulator/index.js';
import { freePort } from '../helpers/relay-process.js';
import { startDoctorContext, statuses, step, type DoctorContext } from './doctor-context.js';

let key: SigningKey;
let ctx: DoctorContext | undefined;
beforeAll(async () => {
  key = await createSigningKey();
});
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

const ALL_PASS = { config: 'pass', clock: 'pass', network: 'pass', token: 'pass', graph: 'pass' };

/** A doctor context whose server sends via the emulator's Graph endpoint (`overrides` change it further). */
async function startGraph(overrides: Partial<ServerSettings> = {}): Promise<DoctorContext> {
  const started = await startDoctorContext(key);
  started.fx.store.sync.servers.update(started.serverId, { sendVia: 'graph', graphEndpoint: started.emu.graphUrl, ...overrides });
  return started;
}

const app = (c: DoctorContext) => c.emu.directory.getApp(SEED.tenantId, SEED.clientId);
/** One compared fact of a step, by name. */
const check = (report: DoctorReport, id: 'token' | 'graph', name: string) => step(report, id).checks.find((x) => x.name === name);

/** Authorize Account for the server as the seeded user, the way the panel's flow does it. */
async function authorize(c: DoctorContext): Promise<void> {
  const server = c.fx.store.sync.servers.get(c.serverId)!;
  const msal = createMsalClient({ server, clientSecret: SEED.clientSecret, cache: c.fx.store.tokenCaches, log: silentLogger });
  const pkce = await createPkce();
  const url = await authorizeUrl({ client: msal, server, redirectUri: SEED.redirectUri, state: 's', challenge: pkce.challenge });
  const back = new URL(await c.emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
  const { account } = await finishAuthorization({
    client: msal,
    server,
    redirectUri: SEED.redirectUri,
    code: back.searchParams.get('code') ?? '',
    state: 's',
    verifier: pkce.verifier,
  });
  c.fx.store.sync.servers.setStatus(server.id, { status: 'authorized', account });
}

describe('relay365 doctor for a server that sends via Microsoft Graph', () => {
  it('passes every step for application sign-in, comparing the Graph claims, and sends nothing', async () => {
    ctx = await startGraph();
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(report.ok).toBe(true);
    expect(report.servers[0]?.steps.map((s) => s.title)).toEqual([
      'Configuration and data folder',
      'Clock',
      'Network and TLS',
      'Token',
      'Microsoft Graph',
    ]);
    expect(step(report, 'network').saw).toMatch(
      new RegExp(`^${ctx.emu.graphUrl} answers with TLSv1\\.[23] and a trusted certificate for localhost$`),
    );
    expect(check(report, 'token', 'aud')).toMatchObject({ saw: ctx.emu.graphUrl, ok: true });
    expect(check(report, 'token', 'roles')).toMatchObject({ saw: 'Mail.Send Mail.ReadWrite', ok: true });
    expect(check(report, 'token', 'roles')?.warn).toBeUndefined();
    expect(step(report, 'token').saw).toBe('got a token for the application with the claims Microsoft Graph needs');
    // The seeded app may not read users, which sending does not need: not checked, not failed.
    expect(check(report, 'graph', 'mailbox')).toMatchObject({
      ok: true,
      warn: true,
      saw: expect.stringMatching(
        /^not checked: reading users needs User\.ReadBasic\.All, which sending does not \(403 Authorization_RequestDenied/,
      ),
    });
    expect(check(report, 'graph', 'Mail.Send')).toMatchObject({
      ok: true,
      saw: expect.stringMatching(/^may send as relay@contoso\.test/),
    });
    expect(ctx.emu.graph.messages).toHaveLength(0);
    expect(ctx.emu.graph.sentItems(SEED.mailbox)).toHaveLength(0);
    expect(ctx.emu.exchange.connections).toBe(0);
  });

  it('shows the mailbox Graph resolves when the app may read users', async () => {
    ctx = await startGraph();
    app(ctx).graphApplicationPermissions.push('User.ReadBasic.All');
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(check(report, 'graph', 'mailbox')).toMatchObject({
      ok: true,
      saw: expect.stringMatching(/^GET \/users\/relay@contoso\.test: .*<relay@contoso\.test>$/),
    });
    expect(step(report, 'graph').saw).toBe('relay@contoso.test resolves and may send through Microsoft Graph; nothing was sent');
  });

  it('fails only the Graph step for an unknown mailbox, naming the Mailbox setting', async () => {
    ctx = await startGraph({ mailbox: 'nobody@contoso.test' });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, graph: 'fail' });
    expect(step(report, 'graph').saw).toMatch(/^Mail\.Send: 404 ErrorInvalidUser/);
    expect(step(report, 'graph').problem).toBe('Microsoft Graph does not know the mailbox nobody@contoso.test');
    expect(step(report, 'graph').fix).toMatch(
      /Set Mailbox to the address of an Exchange Online mailbox.*relay365 server set o365 --mailbox ADDRESS/,
    );
  });

  it('fails the Graph step on the mailbox lookup when the app reads users and the mailbox does not exist', async () => {
    ctx = await startGraph({ mailbox: 'nobody@contoso.test' });
    app(ctx).graphApplicationPermissions.push('User.ReadBasic.All');
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, graph: 'fail' });
    expect(step(report, 'graph').checks.map((c) => c.name)).toEqual(['mailbox']);
    expect(step(report, 'graph').saw).toMatch(/^mailbox: 404 Request_ResourceNotFound/);
  });

  it('warns about a missing Mail.Send role and fails the Graph step with Entra consent and RBAC for Applications as the fix', async () => {
    ctx = await startGraph();
    app(ctx).graphApplicationPermissions = ['Mail.ReadWrite'];
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, graph: 'fail' });
    expect(check(report, 'token', 'roles')).toMatchObject({
      ok: true,
      warn: true,
      saw: expect.stringMatching(/^Mail\.ReadWrite: no Mail\.Send/),
    });
    expect(step(report, 'token').saw).toBe('got a token for the application with the claims Microsoft Graph needs; warning about roles');
    expect(step(report, 'graph').saw).toMatch(/^Mail\.Send: 403 ErrorAccessDenied/);
    expect(step(report, 'graph').problem).toMatch(/no Mail\.Send permission, or the mailbox is outside its RBAC for Applications scope/);
    const fix = step(report, 'graph').fix ?? '';
    expect(fix).toContain('Microsoft Graph → Application permissions → Mail.Send');
    expect(fix).toContain(
      'New-ManagementRoleAssignment -App <service principal id> -Role "Application Mail.Send" -CustomResourceScope relay365',
    );
    expect(fix).toContain('Test-ServicePrincipalAuthorization -Identity <service principal id> -Resource relay@contoso.test');
  });

  it('passes an app that may send only through an RBAC for Applications assignment, and fails a mailbox outside its scope', async () => {
    ctx = await startGraph();
    app(ctx).graphApplicationPermissions = [];
    ctx.emu.directory.addManagementScope(SEED.tenantId, 'relay365', [SEED.mailbox]);
    ctx.emu.directory.assignAppRole(SEED.tenantId, SEED.clientId, 'Application Mail.Send', 'relay365');
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(check(report, 'token', 'roles')).toMatchObject({ ok: true, warn: true });

    const other = ctx.emu.directory.addUser(SEED.tenantId, { address: 'printer@contoso.test', displayName: 'Printer' });
    ctx.fx.store.sync.servers.update(ctx.serverId, { mailbox: other.address });
    const outside = await ctx.run();
    expect(statuses(outside)).toEqual({ ...ALL_PASS, graph: 'fail' });
    expect(step(outside, 'graph').problem).toMatch(/may not send as printer@contoso\.test/);
    expect(step(outside, 'graph').fix).toContain('-Resource printer@contoso.test');
  });

  it('warns, without failing, when the token has no Mail.ReadWrite for messages over 3 MB', async () => {
    ctx = await startGraph();
    app(ctx).graphApplicationPermissions = ['Mail.Send'];
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(check(report, 'token', 'Mail.ReadWrite')).toMatchObject({
      ok: true,
      warn: true,
      saw: expect.stringMatching(/^not in roles: messages over 3 MB will be held.*Mail\.ReadWrite with admin consent/),
    });
    expect(formatReport(report).join('\n')).toMatch(/⚠ Mail\.ReadWrite: not in roles/);
  });

  it('fails the Graph step for a mailbox Graph cannot reach (MailboxNotEnabledForRESTAPI)', async () => {
    ctx = await startGraph();
    ctx.emu.directory.getMailbox(SEED.mailbox).restApiEnabled = false;
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, graph: 'fail' });
    expect(step(report, 'graph').saw).toMatch(/MailboxNotEnabledForRESTAPI/);
    expect(step(report, 'graph').fix).toMatch(/active Exchange Online mailbox, or send this mailbox’s mail via smtp/);
  });

  it('reads a throttled check as not checked, with the wait Graph asked for', async () => {
    ctx = await startGraph();
    ctx.emu.graph.failNext({ route: 'sendMail', status: 429, retryAfterSeconds: 7 });
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(check(report, 'graph', 'Mail.Send')).toMatchObject({
      ok: true,
      warn: true,
      saw: expect.stringMatching(/^not checked: Microsoft Graph asked to wait \(429 ApplicationThrottled.*Retry-After 7 s\)/),
    });
    expect(step(report, 'graph').saw).toBe('relay@contoso.test could not be checked fully (see ⚠); nothing was sent');
  });

  it('fails only the network step when the Graph endpoint does not answer, and skips the Graph step', async () => {
    const closed = await freePort();
    ctx = await startGraph({ graphEndpoint: `https://localhost:${closed}` });
    // The identity platform issues tokens for it: only Graph itself is missing.
    ctx.emu.identity.graphResources.push(`https://localhost:${closed}`);
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ ...ALL_PASS, network: 'fail', graph: 'skip' });
    expect(step(report, 'network').saw).toMatch(/^TCP: localhost:\d+: ECONNREFUSED/);
    expect(step(report, 'network').fix).toMatch(/Graph Endpoint: https:\/\/graph\.microsoft\.com/);
    expect(step(report, 'graph')).toMatchObject({ blocked: true, saw: 'not run: the server could not be reached safely (step 3)' });
  });

  it('skips the network step of a Custom cloud without a Graph Endpoint, naming the setting in step 1', async () => {
    ctx = await startGraph({ graphEndpoint: null });
    const report = await ctx.run();
    expect(statuses(report)).toEqual({ config: 'fail', clock: 'skip', network: 'skip', token: 'skip', graph: 'skip' });
    expect(step(report, 'config').saw).toContain('Graph Endpoint not set');
  });

  it('checks an authorized account: Mail.Send in scp, the mailbox through /me', async () => {
    ctx = await startGraph({ signInMode: 'authorize', mailbox: null });
    await authorize(ctx);
    const report = await ctx.run();
    expect(statuses(report)).toEqual(ALL_PASS);
    expect(check(report, 'token', 'scp')).toMatchObject({ ok: true, saw: expect.stringContaining('Mail.Send') });
    // The organization consented Mail.Send and User.Read for users: no Mail.ReadWrite.
    expect(check(report, 'token', 'Mail.ReadWrite')).toMatchObject({
      ok: true,
      warn: true,
      saw: expect.stringMatching(/^not in scp/),
    });
    expect(check(report, 'graph', 'mailbox')).toMatchObject({
      ok: true,
      saw: expect.stringMatching(/^GET \/me: .*<relay@contoso\.test>$/),
    });
    expect(check(report, 'graph', 'Mail.Send')?.ok).toBe(true);
    expect(ctx.emu.graph.requests.filter((r) => r.route === 'sendMail').map((r) => r.tokenKind)).toEqual(['delegated']);
  });

  it('prints the Graph endpoint in the heading and the Graph step, never a token', async () => {
    ctx = await startGraph();
    const text = formatReport(await ctx.run()).join('\n');
    expect(text.split('\n')[0]).toBe(`Email server o365 (office365, via Microsoft Graph, ${ctx.emu.graphUrl})`);
    expect(text).toMatch(/✓ 5\. Microsoft Graph: relay@contoso\.test may send through Microsoft Graph/);
    expect(text).not.toContain(SEED.clientSecret);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});
