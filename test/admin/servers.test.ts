import { afterEach, describe, expect, it } from 'vitest';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { createPanel, signedIn, visibleText, type Agent, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

const SECRET = 'Rly8Q~super.Secret.Value.0123456789';

async function office365(p: Panel): Promise<{ agent: Agent; id: number }> {
  const agent = await signedIn(p, 'admin@example.com', { superAdmin: true });
  const res = await agent.post('/servers', { name: 'Office 365', method: 'office365' });
  expect(res.status).toBe(303);
  return { agent, id: Number(/\/servers\/(\d+)$/.exec(res.location!)?.[1]) };
}

describe('email servers', () => {
  it('creates an office365 server with tls, 587 and smtp.office365.com', async () => {
    panel = createPanel();
    const { id } = await office365(panel);
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      method: 'office365',
      secure: 'tls',
      port: 587,
      host: 'smtp.office365.com',
      signInMode: 'authorize',
      status: 'not_authorized',
    });
    expect(panel.relay.settingsChanged).toHaveBeenCalled();
  });

  it('shows every setting with its label, an edit icon per setting, and the redirect URI read-only', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    await agent.post(`/servers/${id}/edit/cloud`, {
      cloud: 'custom',
      authorityHost: 'https://login.example:8443',
      smtpResource: 'https://outlook.office365.com',
    });
    const page = await agent.get(`/servers/${id}`);
    const text = visibleText(page.text);
    for (const label of [
      'Name',
      'SMTP Authentication Method',
      'Office 365 Sign-in Mode',
      'Use Secure Connection',
      'Server Port',
      'Server Host',
      'Office 365 Redirect URI',
      'Office 365 Tenant ID',
      'Office 365 Client ID',
      'Office 365 Client Secret',
      'Office 365 Client Secret Expires',
      'Office 365 Cloud',
      'Authority Host',
      'SMTP Resource',
      'Mailbox',
      'Max Connections',
      'Messages per Minute',
      'Recipients per Day',
      'From Address Handling',
      'Send As Addresses',
    ]) {
      expect(text).toContain(label);
      if (label !== 'Office 365 Redirect URI') expect(page.text).toContain(`aria-label="Edit ${label}"`);
    }
    expect(text).toContain('SMTP Authentication Method office365 Not Authorized');
    expect(text).toContain('Office 365 Sign-in Mode Authorize Account');
    expect(text).toContain('Office 365 Cloud Custom');
    expect(page.text).toMatch(
      /<input id="redirect-uri" class="copy-source" readonly="" value="http:\/\/localhost:8025\/oauth\/office365\/callback"/,
    );
    expect(page.text).toContain('data-copy="redirect-uri"');
    expect(page.text).toMatch(/<button type="submit" disabled="">\s*Authorize Account/);
  });

  it('offers the Office 365 Cloud choices and both sign-in modes with their labels', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const cloud = visibleText((await agent.get(`/servers/${id}/edit/cloud`)).text);
    for (const label of [
      'Global',
      'US Government GCC High',
      'US Government DoD',
      'China (21Vianet)',
      'Custom',
      'Authority Host',
      'SMTP Resource',
    ])
      expect(cloud).toContain(label);
    const mode = visibleText((await agent.get(`/servers/${id}/edit/sign-in-mode`)).text);
    expect(mode).toContain('Authorize Account');
    expect(mode).toContain('Application');
  });

  it('saves one setting from its edit form and says so', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const form = await agent.get(`/servers/${id}/edit/tenant-id`);
    expect(form.text).toContain('<label for="tenantId">Office 365 Tenant ID</label>');
    const saved = await agent.post(`/servers/${id}/edit/tenant-id`, { tenantId: '5b2d7c1e-8a43-4f6b-9d05-c3e1a7f2b819' });
    expect(saved.location).toBe(`/servers/${id}`);
    expect(panel.fx.store.sync.servers.get(id)?.tenantId).toBe('5b2d7c1e-8a43-4f6b-9d05-c3e1a7f2b819');
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain('Saved Office 365 Tenant ID.');
  });

  it.each([
    ['tenant-id', { tenantId: 'not a tenant' }, 'tenantId', 'Enter the Directory (tenant) ID'],
    ['client-id', { clientId: 'contoso.com' }, 'clientId', 'Enter the Application (client) ID'],
    ['port', { port: '70000' }, 'port', 'Enter a whole number from 1 to 65535.'],
    ['port', { port: 'abc' }, 'port', 'Enter a whole number from 1 to 65535.'],
    ['host', { host: 'not a host!' }, 'host', 'Enter a host name such as smtp.office365.com.'],
    ['mailbox', { mailbox: 'relay at contoso' }, 'mailbox', 'Enter an email address such as relay@contoso.com.'],
    ['client-secret-expires', { clientSecretExpires: '2025-02-30' }, 'clientSecretExpires', 'Enter a date as YYYY-MM-DD.'],
    ['cloud', { cloud: 'custom', authorityHost: 'http://login.example', smtpResource: '' }, 'authorityHost', 'Enter an https:// address'],
    [
      'cloud',
      { cloud: 'custom', authorityHost: 'https://login.example', smtpResource: '' },
      'smtpResource',
      'The Custom cloud needs an SMTP Resource',
    ],
    ['max-connections', { maxConnections: '0' }, 'maxConnections', 'Enter a whole number from 1 to 50.'],
    ['from-handling', { fromHandling: 'drop' }, 'fromHandling', 'Choose one of keep, rewrite, reject.'],
    ['bounce-notices', { bounceNotices: 'maybe' }, 'bounceNotices', 'Choose one of on, off.'],
    ['send-as', { sendAs: 'sales@contoso.com, not-an-address' }, 'sendAs', '&quot;not-an-address&quot; is not an email address'],
  ])('re-renders the %s form with the message next to the field for %j', async (slug, fields, field, message) => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const before = panel.fx.store.sync.servers.get(id)!;
    const res = await agent.post(`/servers/${id}/edit/${slug}`, fields);
    expect(res.status).toBe(422);
    expect(res.text).toMatch(
      new RegExp(`<p class="field-error" id="${field}-error" role="alert">${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    expect(panel.fx.store.sync.servers.get(id)?.revision).toBe(before.revision);
  });

  it('saves Send As Addresses separated by commas or new lines and shows them', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const saved = await agent.post(`/servers/${id}/edit/send-as`, { sendAs: 'Sales@contoso.com,\nbilling@contoso.com; sales@contoso.com' });
    expect(saved.status).toBe(303);
    expect(panel.fx.store.sync.servers.get(id)?.sendAs).toEqual(['sales@contoso.com', 'billing@contoso.com']);
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain('Send As Addresses sales@contoso.com, billing@contoso.com');
    expect((await agent.get(`/servers/${id}/edit/send-as`)).text).toMatch(
      /<textarea[^>]*>sales@contoso.com\nbilling@contoso.com<\/textarea>/,
    );
    await agent.post(`/servers/${id}/edit/send-as`, { sendAs: '' });
    expect(panel.fx.store.sync.servers.get(id)?.sendAs).toEqual([]);
  });

  it('switches Bounce Notices off and Delay Notices on, and shows both on the server page', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain('Bounce Notices on');
    expect((await agent.post(`/servers/${id}/edit/bounce-notices`, { bounceNotices: 'off' })).status).toBe(303);
    expect((await agent.post(`/servers/${id}/edit/delay-notices`, { delayNotices: 'on' })).status).toBe(303);
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({ bounceNotices: 'off', delayNotices: 'on' });
    const page = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(page).toContain('Bounce Notices off');
    expect(page).toContain('Delay Notices on');
  });

  it('refuses a second server with the same name', async () => {
    panel = createPanel();
    const { agent } = await office365(panel);
    const res = await agent.post('/servers', { name: 'office 365', method: 'office365' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('An email server with this name exists already.');
  });

  it('needs a host for other methods when creating', async () => {
    panel = createPanel();
    const { agent } = await office365(panel);
    const res = await agent.post('/servers', { name: 'smarthost', method: 'password', port: '99999' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter the host name of the SMTP server.');
    expect(res.text).toContain('Enter a whole number from 1 to 65535.');
  });

  it('keeps Office 365 Client Secret write-only: never shown, not even in a failed form', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    expect((await agent.post(`/servers/${id}/edit/client-secret`, { clientSecret: SECRET })).status).toBe(303);
    expect(panel.fx.store.sync.servers.clientSecret(id)).toBe(SECRET);
    const page = await agent.get(`/servers/${id}`);
    expect(visibleText(page.text)).toContain('Office 365 Client Secret Set (hidden)');
    const form = await agent.get(`/servers/${id}/edit/client-secret`);
    expect(form.text).toContain('type="password"');
    expect(form.text).toContain('A value is set. Saving replaces it.');
    const failed = await agent.post(`/servers/${id}/edit/client-secret`, { clientSecret: `${SECRET}\nsecond line` });
    expect(failed.status).toBe(422);
    expect(failed.text).toContain('Paste the client secret value (one line).');
    for (const body of agent.bodies) expect(body).not.toContain(SECRET);
    expect(panel.logLines.join('\n')).not.toContain(SECRET);
  });

  it('ends the authorization when the app or cloud changes', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    panel.fx.store.sync.tokenCaches.save(id, '{"cache":true}');
    panel.fx.store.sync.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.com', refreshedAt: Date.now() });
    await agent.post(`/servers/${id}/edit/port`, { port: '587' });
    expect(panel.fx.store.sync.servers.get(id)?.status).toBe('authorized');
    await agent.post(`/servers/${id}/edit/client-id`, { clientId: '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94' });
    expect(panel.fx.store.sync.servers.get(id)?.status).toBe('not_authorized');
    expect(panel.fx.store.sync.tokenCaches.load(id)).toBeNull();
  });

  it('shows Authorized with the account and last refresh, and an error with its code, meaning and fix', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    panel.fx.store.sync.servers.setStatus(id, {
      status: 'authorized',
      account: 'relay@contoso.com',
      refreshedAt: Date.parse('2030-01-02T03:04:05Z'),
    });
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain(
      'office365 Authorized as relay@contoso.com, token refreshed 2030-01-02 03:04:05 UTC',
    );
    expect(visibleText((await agent.get('/servers')).text)).toContain('Authorized as relay@contoso.com');
    panel.fx.store.sync.servers.setStatus(id, {
      status: 'error',
      code: 'AADSTS7000222',
      message: 'The provided client secret keys for app are expired.',
      hint: 'Client secret expired. Create a new client secret in the app registration, then update Office 365 Client Secret and its expiry date.',
    });
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('Error: AADSTS7000222 The provided client secret keys for app are expired. Fix: Client secret expired.');
  });

  it('warns from 30 days before the client secret expires: a banner on every page and a mark in the list', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const date = (days: number) => new Date(panel.clock.now + days * 86_400_000).toISOString().slice(0, 10);
    await agent.post(`/servers/${id}/edit/client-secret-expires`, { clientSecretExpires: date(45) });
    expect((await agent.get('/log')).text).not.toContain('The client secret of');
    await agent.post(`/servers/${id}/edit/client-secret-expires`, { clientSecretExpires: date(20) });
    for (const path of ['/log', '/servers', `/servers/${id}`, '/users']) {
      expect(visibleText((await agent.get(path)).text), path).toContain(`The client secret of Office 365 expires in 20 days (${date(20)})`);
    }
    expect(visibleText((await agent.get('/servers')).text)).toContain('⚠ secret expires in 20 days');
    panel.clock.now += 22 * 86_400_000;
    expect(visibleText((await agent.get('/log')).text)).toContain('The client secret of Office 365 expired 2 days ago');
  });

  it('lists servers with host, method, status and queued/held counts', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'smarthost', host: 'mx.example.com', port: 25 }));
    const now = Date.now();
    panel.fx.store.sync.queue.insert(['A', 'B', 'C'].map((id) => queuedMessage(id, 1, { receivedAt: now, expiresAt: now + 1e9 })));
    panel.fx.store.sync.queue.recordAttempt('C', { kind: 'hold', reply: '535 5.7.3' }, now);
    const agent = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    expect(visibleText((await agent.get('/servers')).text)).toContain('smarthost (default) mx.example.com:25 none Not used yet 2 1');
  });

  it('asks before deleting, refuses while mail waits, and otherwise fails that mail with the removal and deletes its body', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const now = Date.now();
    const body = { messageId: 'WAIT1', seq: 0, bytes: Buffer.from('Subject: waiting\r\n\r\nbody\r\n') };
    panel.fx.store.sync.queue.insert([queuedMessage('WAIT1', id, { receivedAt: now, expiresAt: now + 1e9 })], [body]);
    const confirm = await agent.get(`/servers/${id}/delete`);
    expect(visibleText(confirm.text)).toContain('Give up on the 1 message still waiting for this server');
    const refused = await agent.post(`/servers/${id}/delete`);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('1 message(s) are still waiting for this server.');
    expect(panel.fx.store.sync.servers.get(id)).toBeDefined();
    expect(panel.fx.store.sync.bodies.has('WAIT1')).toBe(true);
    const done = await agent.post(`/servers/${id}/delete`, { drop: '1' });
    expect(done.location).toBe('/servers');
    expect(visibleText((await agent.get('/servers')).text)).toContain('Deleted Office 365; 1 waiting message(s) were marked failed.');
    expect(panel.fx.store.sync.servers.get(id)).toBeUndefined();
    expect(panel.fx.store.sync.bodies.has('WAIT1')).toBe(false);
    const reason = 'not delivered: its email server Office 365 was removed by admin@example.com';
    expect(panel.fx.store.sync.queue.get('WAIT1')).toMatchObject({ status: 'failed', serverId: null, lastReply: reason });
    const page = visibleText((await agent.get('/log/WAIT1')).text);
    expect(page).toContain('(deleted server)');
    expect(page).toContain(`failed ${reason}`);
  });

  it('deletes no server while its mail is being delivered', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const now = Date.now();
    panel.fx.store.sync.queue.insert([
      queuedMessage('SENDING1', id, { route: 'admin panel', receivedAt: now, expiresAt: now + 1e9, status: 'sending' }),
    ]);
    await agent.get(`/servers/${id}/delete`);
    const refused = await agent.post(`/servers/${id}/delete`, { drop: '1' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Mail is being delivered through this server right now.');
    expect(panel.fx.store.sync.queue.get('SENDING1')).toMatchObject({ status: 'sending', serverId: id });
  });
});
