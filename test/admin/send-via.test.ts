/**
 * Office 365 Send Via in the panel: the New email server form offers it, the
 * server page shows it (with the SMTP connection settings marked unused while
 * the server sends via Microsoft Graph), and switching it ends an Authorize
 * Account authorization with a message saying to sign in again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPanel, signedIn, visibleText, type Agent, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

async function admin(p: Panel): Promise<Agent> {
  return signedIn(p, 'admin@example.com', { superAdmin: true });
}

/** Creates an office365 server through the New email server form; `fields` are added to the form. */
async function create(agent: Agent, fields: Record<string, string> = {}): Promise<number> {
  await agent.get('/servers/new');
  const res = await agent.post('/servers', { name: 'Office 365', method: 'office365', ...fields });
  expect(res.status).toBe(303);
  return Number(/\/servers\/(\d+)$/.exec(res.location!)?.[1]);
}

describe('Office 365 Send Via in the panel', () => {
  it('offers SMTP and Microsoft Graph on the New email server form, SMTP chosen', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const page = await agent.get('/servers/new');
    const text = visibleText(page.text);
    expect(text).toContain('Office 365 Send Via SMTP (XOAUTH2 to Server Host) Microsoft Graph For office365 only: smtp sends with XOAUTH2');
    expect(page.text).toContain('<input type="radio" name="sendVia" value="smtp" checked=""/>');
    expect(page.text).toContain('<input type="radio" name="sendVia" value="graph"/>');
  });

  it('creates a server that sends via Microsoft Graph when the admin picks it', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), { sendVia: 'graph' });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({ method: 'office365', sendVia: 'graph', status: 'not_authorized' });
  });

  it('refuses an unknown way to send next to the field, and creates nothing', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    await agent.get('/servers/new');
    const res = await agent.post('/servers', { name: 'Office 365', method: 'office365', sendVia: 'fax' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/id="sendVia-error"[^>]*>[^<]*smtp[^<]*graph/);
    expect(panel.fx.store.sync.servers.list()).toHaveLength(0);
  });

  it('shows Microsoft Graph with its host on the server page and marks the SMTP connection settings unused', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const id = await create(agent, { sendVia: 'graph' });
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('Office 365 Send Via Microsoft Graph at https://graph.microsoft.com');
    expect(text).toContain('Server Host smtp.office365.com (not used: this server sends via Microsoft Graph)');
    expect(text).toContain('Server Port 587 (not used: this server sends via Microsoft Graph)');
    expect(text).toContain('Use Secure Connection tls (not used: this server sends via Microsoft Graph)');
    expect(text).toContain("This server sends via Microsoft Graph: the sign-in asks for Graph's Mail.Send permission.");
    expect(text).toContain("the connection to Microsoft Graph and its certificate, a token, and Graph's answer for the mailbox");

    const smtp = await create(agent, { name: 'SMTP' });
    const smtpText = visibleText((await agent.get(`/servers/${smtp}`)).text);
    expect(smtpText).toContain('Office 365 Send Via SMTP (XOAUTH2 to Server Host)');
    expect(smtpText).not.toContain('not used');
  });

  it('asks to Authorize Account again after an authorized account switches to Microsoft Graph, its tokens forgotten', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const id = await create(agent);
    panel.fx.store.sync.tokenCaches.save(id, '{"cache":true}');
    panel.fx.store.sync.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test', refreshedAt: panel.clock.now });
    expect(visibleText((await agent.get(`/servers/${id}`)).text)).toContain(
      'SMTP Authentication Method office365 Authorized as relay@contoso.test',
    );

    const form = await agent.get(`/servers/${id}/edit/send-via`);
    expect(visibleText(form.text)).toContain('Office 365 Send Via SMTP (XOAUTH2 to Server Host) Microsoft Graph');
    const saved = await agent.post(`/servers/${id}/edit/send-via`, { sendVia: 'graph' });
    expect(saved.status).toBe(303);
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain(
      "Saved Office 365 Send Via. The account's authorization was for Exchange SMTP and does not serve Microsoft Graph: click Authorize Account and sign in again.",
    );
    expect(text).toContain('SMTP Authentication Method office365 Not Authorized');
    expect(panel.fx.store.sync.tokenCaches.load(id)).toBeNull();
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({ sendVia: 'graph', status: 'not_authorized', authorizedAccount: null });
    expect(panel.relay.settingsChanged).toHaveBeenCalled();
  });

  it('tells an Application server switching back to SMTP which permission the app now needs', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const id = await create(agent, { sendVia: 'graph' });
    panel.fx.store.sync.servers.update(id, { signInMode: 'application' });
    await agent.post(`/servers/${id}/edit/send-via`, { sendVia: 'smtp' });
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain(
      "Saved Office 365 Send Via. relay365 now asks for Exchange SMTP tokens; the app needs Exchange's SMTP.SendAsApp: Check Configuration shows whether it has it.",
    );
    expect(panel.fx.store.sync.servers.get(id)?.sendVia).toBe('smtp');
  });

  it('says nothing more when Send Via is saved unchanged, and keeps the authorization', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const id = await create(agent);
    panel.fx.store.sync.servers.setStatus(id, { status: 'authorized', account: 'relay@contoso.test' });
    await agent.post(`/servers/${id}/edit/send-via`, { sendVia: 'smtp' });
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain('Saved Office 365 Send Via.');
    expect(text).not.toContain('Authorize Account and sign in again');
    expect(panel.fx.store.sync.servers.get(id)?.status).toBe('authorized');
  });
});
