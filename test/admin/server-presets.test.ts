/**
 * Presets on the panel's New email server form: the form offers Microsoft's
 * endpoints with what each is for, picking one creates a server with its
 * method, host, port, security and limits (a host or port entered wins), and
 * a preset the form does not offer is refused next to the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPanel, signedIn, visibleText, type Agent, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

async function admin(p: Panel): Promise<Agent> {
  const agent = await signedIn(p, 'admin@example.com', { superAdmin: true });
  await agent.get('/servers/new');
  return agent;
}

/** Submits the New email server form as a browser would (method and Send Via radios at their defaults). */
async function create(agent: Agent, fields: Record<string, string>): Promise<number> {
  const res = await agent.post('/servers', { method: 'office365', sendVia: 'smtp', host: '', port: '', secure: '', ...fields });
  expect(res.status).toBe(303);
  return Number(/\/servers\/(\d+)$/.exec(res.location!)?.[1]);
}

describe('presets on the New email server form', () => {
  it('offers no preset (chosen) and the three Microsoft endpoints, each with what it is for', async () => {
    panel = createPanel();
    const page = await (await admin(panel)).get('/servers/new');
    expect(page.text).toContain('<input type="radio" name="preset" value="" checked=""/>');
    for (const name of ['office365', 'hve', 'acs']) expect(page.text).toContain(`<input type="radio" name="preset" value="${name}"/>`);
    const text = visibleText(page.text);
    expect(text).toContain(
      'Preset None: choose the method below Microsoft 365 (SMTP AUTH) High Volume Email Azure Communication Services A preset fills in the method',
    );
    expect(text).toContain('High Volume Email: Bulk mail to your own organization from an HVE account, through smtp-hve.office365.com');
    expect(text).toContain('Azure Communication Services: Mail to anyone through smtp.azurecomm.net');
  });

  it('creates a password server on smtp.azurecomm.net:587 tls with ACS’s limits when Azure Communication Services is picked', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), { name: 'ACS', preset: 'acs' });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      method: 'password',
      host: 'smtp.azurecomm.net',
      port: 587,
      secure: 'tls',
      maxConnections: 1,
      messagesPerMinute: 1,
      recipientsPerDay: 2_400,
    });
    expect(panel.relay.settingsChanged).toHaveBeenCalled();
  });

  it('creates an application sign-in server on smtp-hve.office365.com for High Volume Email', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), { name: 'Bulk', preset: 'hve' });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      method: 'office365',
      signInMode: 'application',
      sendVia: 'smtp',
      host: 'smtp-hve.office365.com',
      port: 587,
      secure: 'tls',
      messagesPerMinute: 100,
      recipientsPerDay: 100_000,
    });
  });

  it('keeps Authorize Account for the Microsoft 365 preset, as the admin guide does', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), { name: 'Office 365', preset: 'office365' });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      method: 'office365',
      signInMode: 'authorize',
      host: 'smtp.office365.com',
      port: 587,
    });
  });

  it('lets a host, port and security entered on the form win over the preset’s', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), {
      name: 'ACS EU',
      preset: 'acs',
      host: 'smtp.eu.azurecomm.net',
      port: '465',
      secure: 'ssl',
    });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      method: 'password',
      host: 'smtp.eu.azurecomm.net',
      port: 465,
      secure: 'ssl',
      messagesPerMinute: 1,
    });
  });

  it('takes the preset’s method over the method radio button', async () => {
    panel = createPanel();
    const id = await create(await admin(panel), { name: 'ACS', preset: 'acs', method: 'office365', sendVia: 'graph' });
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({ method: 'password', sendVia: 'smtp', host: 'smtp.azurecomm.net' });
  });

  it('refuses High Volume Email with Microsoft Graph next to Send Via, and creates nothing', async () => {
    panel = createPanel();
    const res = await (await admin(panel)).post('/servers', { name: 'HVE', preset: 'hve', method: 'office365', sendVia: 'graph' });
    expect(res.status).toBe(422);
    expect(res.text).toContain(
      '<p class="field-error" id="sendVia-error" role="alert">High Volume Email takes mail only over SMTP: keep Send Via smtp, or choose no preset to send via Microsoft Graph.</p>',
    );
    expect(panel.fx.store.sync.servers.list()).toHaveLength(0);
  });

  it('refuses a preset it does not offer next to the field, keeps what was entered, and creates nothing', async () => {
    panel = createPanel();
    const agent = await admin(panel);
    const res = await agent.post('/servers', { name: 'Mail', preset: 'gmail', method: 'office365', sendVia: 'smtp' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('<p class="field-error" id="preset-error" role="alert">Choose one of office365, hve, acs, or none.</p>');
    expect(res.text).toContain('aria-describedby="preset-help preset-error"');
    expect(res.text).toContain('value="Mail"');
    expect(panel.fx.store.sync.servers.list()).toHaveLength(0);
  });
});
