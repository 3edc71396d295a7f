import { afterEach, describe, expect, it } from 'vitest';
import { offPublicUrl } from '../../src/admin/authorize-flow.js';
import { startAdmin } from '../../src/admin/server.js';
import { createLogger } from '../../src/log.js';
import { createFixture, plainServer } from '../helpers/fixture.js';
import { startFakeEntra, type FakeEntra, s256 } from './fake-entra.js';
import { Agent, createPanel, fakeRelay, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
let entra: FakeEntra;
afterEach(async () => {
  panel?.cleanup();
  await entra?.close();
});

const CLIENT_ID = '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94';
const SECRET = 'Rly8Q~app.Secret.Value.0123456789';

async function setup(overrides: Parameters<typeof plainServer>[0] = {}) {
  entra = await startFakeEntra();
  panel = createPanel();
  const server = panel.fx.store.sync.servers.add(
    plainServer({
      name: 'o365',
      method: 'office365',
      signInMode: 'authorize',
      secure: 'tls',
      host: 'localhost',
      port: 587,
      tenantId: 'contoso.test',
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      cloud: 'custom',
      authorityHost: entra.authorityHost,
      smtpResource: 'https://outlook.office.com',
      ...overrides,
    }),
  );
  const agent = await signedIn(panel, 'admin@example.com', { superAdmin: true });
  return { agent, id: server.id };
}

/** Clicks Authorize Account; returns Microsoft's URL. */
async function authorize(agent: Agent, id: number): Promise<URL> {
  await agent.get(`/servers/${id}`);
  const res = await agent.post(`/servers/${id}/authorize`);
  expect(res.status).toBe(302);
  return new URL(res.location!);
}

const callback = (agent: Agent, params: Record<string, string>) => agent.get(`/oauth/office365/callback?${new URLSearchParams(params)}`);

describe('Authorize Account', () => {
  it('sends the browser to Microsoft with PKCE S256, a fresh state, prompt=select_account and SMTP.Send + offline_access', async () => {
    const { agent, id } = await setup();
    const page = await agent.get(`/servers/${id}`);
    expect(page.text).toMatch(/<button type="submit">\s*Authorize Account/);
    const url = await authorize(agent, id);
    expect(url.origin).toBe(entra.authorityHost);
    expect(url.pathname).toBe('/contoso.test/oauth2/v2.0/authorize');
    const q = url.searchParams;
    expect(q.get('redirect_uri')).toBe('http://localhost:8025/oauth/office365/callback');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('prompt')).toBe('select_account');
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['https://outlook.office.com/SMTP.Send', 'offline_access']));
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await authorize(agent, id)).searchParams.get('state')).not.toBe(q.get('state'));
    const stored = JSON.stringify(panel.fx.store.db.prepare('SELECT state_hash, verifier_enc FROM oauth_states').all());
    expect(stored).not.toContain(q.get('state'));
  });

  it('redeems the code, records the account, fills Mailbox and tells the relay', async () => {
    const { agent, id } = await setup();
    const url = await authorize(agent, id);
    const state = url.searchParams.get('state')!;
    const res = await callback(agent, { code: 'code-1', state, session_state: 'x' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/servers/${id}`);
    const [request] = entra.tokenRequests;
    expect(request).toMatchObject({
      grant_type: 'authorization_code',
      code: 'code-1',
      redirect_uri: 'http://localhost:8025/oauth/office365/callback',
    });
    expect(s256(request!['code_verifier']!)).toBe(url.searchParams.get('code_challenge'));
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      status: 'authorized',
      authorizedAccount: 'relay@contoso.test',
      mailbox: 'relay@contoso.test',
    });
    expect(panel.relay.settingsChanged).toHaveBeenCalled();
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('Authorized: relay365 now sends as relay@contoso.test.');
    expect(text).toContain('office365 Authorized as relay@contoso.test, token refreshed');
  });

  it('keeps a Mailbox that is already set (a shared mailbox)', async () => {
    const { agent, id } = await setup({ mailbox: 'shared@contoso.test' });
    const state = (await authorize(agent, id)).searchParams.get('state')!;
    await callback(agent, { code: 'c', state });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({ authorizedAccount: 'relay@contoso.test', mailbox: 'shared@contoso.test' });
  });

  it('refuses a reused state without asking Microsoft again', async () => {
    const { agent, id } = await setup();
    const state = (await authorize(agent, id)).searchParams.get('state')!;
    expect((await callback(agent, { code: 'c1', state })).status).toBe(303);
    const again = await callback(agent, { code: 'c2', state });
    expect(again.status).toBe(400);
    expect(visibleText(again.text)).toContain('This sign-in answer was already used. Nothing was changed.');
    expect(entra.tokenRequests).toHaveLength(1);
  });

  it('refuses a wrong state', async () => {
    const { agent, id } = await setup();
    await authorize(agent, id);
    const res = await callback(agent, { code: 'c', state: 'forged-state' });
    expect(res.status).toBe(400);
    expect(visibleText(res.text)).toContain('This sign-in answer does not match any Authorize Account started here.');
    expect((await callback(agent, { code: 'c' })).status).toBe(400);
    expect(entra.tokenRequests).toHaveLength(0);
    expect(panel.fx.store.sync.servers.get(id)?.status).toBe('not_authorized');
  });

  it('refuses a state older than 10 minutes', async () => {
    const { agent, id } = await setup();
    const state = (await authorize(agent, id)).searchParams.get('state')!;
    // The store's clock is the real one: move the state's creation 10 minutes into the past instead.
    panel.fx.store.db.prepare('UPDATE oauth_states SET created_at = created_at - ?, expires_at = expires_at - ?').run(600_001, 600_001);
    const res = await callback(agent, { code: 'c', state });
    expect(res.status).toBe(400);
    expect(visibleText(res.text)).toContain('This sign-in took longer than 10 minutes and has expired.');
    expect(entra.tokenRequests).toHaveLength(0);
  });

  it("refuses a state that belongs to another admin's session, or to none", async () => {
    const { agent, id } = await setup();
    const state = (await authorize(agent, id)).searchParams.get('state')!;
    const other = await signedIn(panel, 'other@example.com', { superAdmin: true });
    const res = await callback(other, { code: 'c', state });
    expect(res.status).toBe(400);
    expect(visibleText(res.text)).toContain('This sign-in was started in another browser session.');
    const state2 = (await authorize(agent, id)).searchParams.get('state')!;
    const anonymous = await callback(new Agent(panel.app), { code: 'c', state: state2 });
    expect(anonymous.status).toBe(400);
    expect(visibleText(anonymous.text)).toContain('Sign in to relay365, open the email server and click Authorize Account again.');
    expect(entra.tokenRequests).toHaveLength(0);
  });

  it.each([
    [
      54005,
      'invalid_grant',
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
      'Authorization code already redeemed',
      'Start Authorize Account again.',
    ],
    [
      7000215,
      'invalid_client',
      'Invalid client secret provided.',
      'Invalid client secret',
      'Paste the client secret Value (not the Secret ID)',
    ],
    [
      7000222,
      'invalid_client',
      'The provided client secret keys for app are expired.',
      'Client secret expired',
      'Create a new client secret',
    ],
    [
      65001,
      'invalid_grant',
      'The user or administrator has not consented to use the application.',
      'Consent missing',
      'tick consent on behalf of your organization',
    ],
  ])('shows AADSTS%s from the code redemption with what it means and the fix', async (aadsts, error, description, meaning, fix) => {
    const { agent, id } = await setup();
    const state = (await authorize(agent, id)).searchParams.get('state')!;
    entra.failNext(aadsts, error, description);
    const res = await callback(agent, { code: 'c', state });
    expect(res.location).toBe(`/servers/${id}`);
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain(`AADSTS${aadsts}: Authorize Account failed: AADSTS${aadsts}: ${description}`);
    expect(text).toContain(`What it means: ${meaning}`);
    expect(text).toContain(`How to fix it: `);
    expect(text).toContain(fix);
    expect(panel.fx.store.sync.servers.get(id)?.status).toBe('not_authorized');
  });

  it('explains a cancelled sign-in (access_denied) and a redirect URI mismatch reported on the callback', async () => {
    const { agent, id } = await setup();
    let state = (await authorize(agent, id)).searchParams.get('state')!;
    await callback(agent, { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.', state });
    let text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('What it means: Sign-in was cancelled or consent was declined');
    expect(text).toContain('How to fix it: Click Authorize Account again and accept the requested permissions.');
    state = (await authorize(agent, id)).searchParams.get('state')!;
    await callback(agent, {
      error: 'invalid_request',
      error_description: "AADSTS50011: The redirect URI 'http://x' specified in the request does not match.",
      state,
    });
    text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('Redirect URI not registered');
    expect(entra.tokenRequests).toHaveLength(0);
  });

  it('keeps the button disabled until tenant ID, client ID and secret are set', async () => {
    const { agent, id } = await setup({ clientSecret: null });
    const page = await agent.get(`/servers/${id}`);
    expect(page.text).toMatch(/<button type="submit" disabled="">\s*Authorize Account/);
    expect(visibleText(page.text)).toContain('Set Office 365 Client Secret or Office 365 Client Certificate first');
    const res = await agent.post(`/servers/${id}/authorize`);
    expect(res.location).toBe(`/servers/${id}`);
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain(
      'Authorize Account could not start: Set Office 365 Client Secret or Office 365 Client Certificate first',
    );
  });

  it('sends a browser that reached the panel by another host name to PUBLIC_URL before the flow starts', async () => {
    const { agent, id } = await setup();
    await agent.get(`/servers/${id}`);
    const away = await agent.post(`/servers/${id}/authorize`, {}, { headers: { host: '127.0.0.1:8025' } });
    expect(away.status).toBe(303);
    expect(away.location).toBe(`http://localhost:8025/servers/${id}/authorize`);
    expect(panel.fx.store.db.prepare('SELECT COUNT(*) AS n FROM oauth_states').get()).toEqual({ n: 0 });
    // At the public URL (signed in there), the page it lands on starts the flow.
    const page = await agent.request(`/servers/${id}/authorize`, { headers: { host: 'localhost:8025' } });
    expect(page.status).toBe(200);
    expect(visibleText(page.text)).toContain(
      'Authorize Account runs at http://localhost:8025: Microsoft sends the browser back to that address',
    );
    expect(page.text).toContain(`<form method="post" action="/servers/${id}/authorize">`);
    const started = await agent.post(`/servers/${id}/authorize`, {}, { headers: { host: 'localhost:8025' } });
    expect(started.status).toBe(302);
    expect(new URL(started.location!).origin).toBe(entra.authorityHost);
    // The landing page itself, opened by the other name, moves to the public URL too.
    const elsewhere = await agent.request(`/servers/${id}/authorize`, { headers: { host: '127.0.0.1:8025' } });
    expect(elsewhere.location).toBe(`http://localhost:8025/servers/${id}/authorize`);
  });

  it.each([
    [{ origin: undefined, host: '127.0.0.1:8025' }, 'http://localhost:8025', true],
    [{ origin: undefined, host: 'LOCALHOST:8025' }, 'http://localhost:8025', false],
    [{ origin: undefined, host: undefined }, 'http://localhost:8025', false],
    [{ origin: 'http://127.0.0.1:8025', host: '127.0.0.1:8025' }, 'http://localhost:8025', true],
    // Behind a proxy that rewrites Host, the browser's Origin decides.
    [{ origin: 'https://relay.contoso.com', host: '127.0.0.1:8025' }, 'https://relay.contoso.com', false],
    [{ origin: 'http://relay.contoso.com', host: 'relay.contoso.com' }, 'https://relay.contoso.com', true],
    [{ origin: undefined, host: 'relay.contoso.com' }, 'https://relay.contoso.com', false],
  ])('tells whether %j is off PUBLIC_URL %s: %s', (seenAs, publicUrl, off) => {
    expect(offPublicUrl(seenAs, publicUrl)).toBe(off);
  });

  it('names PUBLIC_URL as the address to open when the panel starts', async () => {
    const fx = createFixture({
      RELAY365_PUBLIC_URL: 'http://localhost:8025',
      RELAY365_ADMIN_EMAIL: 'admin@example.com',
      RELAY365_ADMIN_PASSWORD: 'correct horse battery staple',
    });
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const admin = await startAdmin({ config: fx.config, store: fx.store, relay: fakeRelay(), log });
    try {
      expect(lines.at(-1)).toMatchObject({
        msg: 'admin panel listening: open http://localhost:8025',
        url: 'http://localhost:8025',
        listen: `127.0.0.1:${admin.address.port}`,
      });
    } finally {
      await admin.close();
      fx.cleanup();
    }
  });
});
