/**
 * Office 365 Client Certificate in the panel and the API: uploaded as a file
 * or pasted, shown only as its SHA-256 thumbprint and expiry, removable, a bad
 * one refused next to the field; its expiry raises the banner, the server
 * list mark and the alert as a client secret's does; and no page, log line or
 * API answer ever carries the PEM or its private key.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import { createAlerts } from '../../src/alerts/engine.js';
import { formatTime } from '../../src/time-format.js';
import { createRelay } from '../../src/relay/index.js';
import { silentLogger } from '../../src/log.js';
import { createTestCertificate, SEED, type TestCertificate } from '../emulator/index.js';
import { apiClient, newToken } from './api/api-client.js';
import { Agent, createPanel, createUser, signedIn, visibleText, type Page, type Panel } from './panel.js';

const DAY_MS = 86_400_000;
let panel: Panel;
let mine: TestCertificate;
let other: TestCertificate;
let soon: TestCertificate;

beforeAll(async () => {
  const now = Date.now();
  [mine, other, soon] = await Promise.all([
    createTestCertificate({ commonName: 'relay365 panel' }),
    createTestCertificate({ commonName: 'relay365 other' }),
    // Ends 20 days from now (the expiry tests set their clock from it).
    createTestCertificate({ commonName: 'relay365 soon', notAfter: new Date(now + 20 * DAY_MS) }),
  ]);
});
afterEach(() => panel?.cleanup());

const pem = (c: TestCertificate): string => `${c.certPem}${c.keyPem}`;
const EDIT = (id: number): string => `/servers/${id}/edit/client-certificate`;

/** The base64 lines of every certificate and key made here: none may reach a page, log line or answer. */
function pemLines(): string[] {
  return [mine, other, soon].flatMap((c) =>
    `${c.certPem}\n${c.keyPem}`.split(/\r?\n/).filter((l) => l.length > 20 && !l.startsWith('-----')),
  );
}

function expectNoKeyMaterial(texts: string[]): void {
  // The text area's placeholder shows the PEM labels; what must never appear is what is between them.
  const all = texts.join('\n');
  for (const line of pemLines()) expect(all).not.toContain(line);
}

/** A signed-in super admin and an Application sign-in server with a client secret, made through the New email server form. */
async function office365(p: Panel): Promise<{ agent: Agent; id: number }> {
  const agent = await signedIn(p, 'admin@example.com', { superAdmin: true });
  await agent.get('/servers/new');
  const res = await agent.post('/servers', { name: 'Office 365', method: 'office365' });
  expect(res.status).toBe(303);
  const id = Number(/\/servers\/(\d+)$/.exec(res.location!)?.[1]);
  p.fx.store.sync.servers.update(id, {
    signInMode: 'application',
    tenantId: SEED.tenantId,
    clientId: SEED.clientId,
    clientSecret: SEED.clientSecret,
    mailbox: SEED.mailbox,
  });
  return { agent, id };
}

/** Posts the edit form as a browser does with enctype multipart/form-data: a file, or text pasted into the area. */
async function postMultipart(
  agent: Agent,
  path: string,
  fields: Record<string, string>,
  file?: { name: string; text: string },
): Promise<Page> {
  const form = new FormData();
  form.set('_csrf', agent.csrf);
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  // A browser sends an empty file part when no file is chosen.
  form.set(
    'clientCertificateFile',
    new File(file ? [file.text] : [], file?.name ?? '', { type: file ? 'application/x-pem-file' : 'application/octet-stream' }),
  );
  return agent.request(path, { method: 'POST', body: form });
}

/** A page's visible text, without the space visibleText leaves where the thumbprint's </code> meets the comma after it. */
const pageText = (page: Page): string => visibleText(page.text).replace(/ ,/g, ',');

/** The message shown next to the field. */
const fieldError = (page: Page): string =>
  visibleText(/<p class="field-error" id="clientCertificate-error"[^>]*>([^<]*)<\/p>/.exec(page.text)?.[1] ?? '');

describe('Office 365 Client Certificate in the panel', () => {
  it('offers a text area and a file input on a multipart form, and says nothing is set yet', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    const page = await agent.get(EDIT(id));
    expect(page.status).toBe(200);
    expect(page.text).toContain('enctype="multipart/form-data"');
    expect(page.text).toMatch(/<textarea id="clientCertificate" name="clientCertificate"/);
    expect(page.text).toMatch(/<input id="clientCertificateFile" name="clientCertificateFile" type="file" accept="\.pem,[^"]*"/);
    expect(visibleText(page.text)).toContain('No value is set yet.');
    expect(page.text).not.toContain('name="remove"');
  });

  it('saves an uploaded PEM file and shows only its SHA-256 thumbprint and expiry, never the PEM or key', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    await agent.get(EDIT(id));
    const saved = await postMultipart(agent, EDIT(id), { clientCertificate: '' }, { name: 'relay365.pem', text: pem(mine) });
    expect(saved).toMatchObject({ status: 303, location: `/servers/${id}` });
    expect(panel.fx.store.sync.servers.clientCertificate(id)).toBe(pem(mine).trim());
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      hasClientCertificate: true,
      clientCertificateThumbprint: mine.thumbprintSha256,
      clientCertificateExpiresAt: mine.notAfter.getTime(),
    });
    expect(panel.relay.settingsChanged).toHaveBeenCalled();

    const page = await agent.get(`/servers/${id}`);
    const text = pageText(page);
    expect(text).toContain('Saved Office 365 Client Certificate.');
    expect(text).toContain(
      `Office 365 Client Certificate Set (hidden). SHA-256 thumbprint ${mine.thumbprintSha256}, expires ${formatTime(mine.notAfter.getTime())} It signs in instead of the client secret.`,
    );
    expect(text).toMatch(/Office 365 Client Secret \S.* \(not used: the client certificate signs in\)/);
    expect(page.text).toContain(`<time datetime="${mine.notAfter.toISOString()}">`);
    const form = await agent.get(EDIT(id));
    expect(visibleText(form.text)).toContain('A value is set. Saving replaces it.');
    expect(form.text).toContain('<input type="checkbox" name="remove" value="1"/>');
    expectNoKeyMaterial([page.text, form.text, (await agent.get('/servers')).text, (await agent.get('/')).text, ...panel.logLines]);
  });

  it('saves a pasted certificate and key, text before an empty file part, and replaces the one before', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    await agent.get(EDIT(id));
    expect((await postMultipart(agent, EDIT(id), { clientCertificate: pem(mine) })).status).toBe(303);
    expect(panel.fx.store.sync.servers.get(id)?.clientCertificateThumbprint).toBe(mine.thumbprintSha256);

    // A paste in a form sent without a file (urlencoded, as without JavaScript for a plain text area) works too.
    await agent.get(EDIT(id));
    expect((await agent.post(EDIT(id), { clientCertificate: `${other.keyPem}\r\n${other.certPem}` })).status).toBe(303);
    expect(panel.fx.store.sync.servers.get(id)?.clientCertificateThumbprint).toBe(other.thumbprintSha256);
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).toContain(`SHA-256 thumbprint ${other.thumbprintSha256}`);
    expect(text).not.toContain(mine.thumbprintSha256);
  });

  it('removes the certificate with the Remove box, back to the client secret', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    panel.fx.store.sync.servers.update(id, { clientCertificate: pem(mine) });
    await agent.get(EDIT(id));
    const removed = await postMultipart(agent, EDIT(id), { clientCertificate: '', remove: '1' });
    expect(removed.status).toBe(303);
    expect(panel.fx.store.sync.servers.clientCertificate(id)).toBeNull();
    expect(panel.fx.store.sync.servers.get(id)).toMatchObject({
      hasClientCertificate: false,
      clientCertificateThumbprint: null,
      clientCertificateExpiresAt: null,
      hasClientSecret: true,
    });
    const text = visibleText((await agent.get(`/servers/${id}`)).text);
    expect(text).not.toContain('SHA-256 thumbprint');
    expect(text).not.toContain('not used: the client certificate signs in');
  });

  it('refuses a bad certificate next to the field, keeps the saved one and never shows the text back', async () => {
    panel = createPanel();
    const { agent, id } = await office365(panel);
    panel.fx.store.sync.servers.update(id, { clientCertificate: pem(mine) });
    await agent.get(EDIT(id));

    const foreignKey = await postMultipart(
      agent,
      EDIT(id),
      { clientCertificate: '' },
      { name: 'mixed.pem', text: `${mine.certPem}${other.keyPem}` },
    );
    expect(foreignKey.status).toBe(422);
    expect(fieldError(foreignKey)).toBe(
      `The private key does not belong to the certificate (SHA-256 thumbprint ${mine.thumbprintSha256}). Paste the key it was made with.`,
    );
    expect(foreignKey.text).toMatch(/<textarea id="clientCertificate"[^>]*aria-invalid="true"[^>]*><\/textarea>/);

    const onlyCertificate = await postMultipart(agent, EDIT(id), { clientCertificate: other.certPem });
    expect(onlyCertificate.status).toBe(422);
    expect(fieldError(onlyCertificate)).toMatch(/^No private key found: the key the certificate was made with goes with it\./);

    const garbage = await postMultipart(agent, EDIT(id), { clientCertificate: 'Rly8Q~a.client.secret.pasted.here' });
    expect(fieldError(garbage)).toMatch(/^No certificate found\./);
    expect(garbage.text).not.toContain('Rly8Q~a.client.secret.pasted.here');

    const empty = await postMultipart(agent, EDIT(id), { clientCertificate: '' });
    expect(empty.status).toBe(422);
    expect(fieldError(empty)).toBe('Paste the certificate and its private key, or choose a file that holds both.');

    expect(panel.fx.store.sync.servers.get(id)?.clientCertificateThumbprint).toBe(mine.thumbprintSha256);
    expectNoKeyMaterial([foreignKey.text, onlyCertificate.text, garbage.text, empty.text, ...panel.logLines]);
  });
});

describe('client certificate expiry', () => {
  /** A panel whose clock reads 20 days (and a millisecond) before the certificate ends, so it has 20 calendar days left. */
  function expiryPanel(): Panel {
    const p = createPanel();
    p.clock.now = soon.notAfter.getTime() - 20 * DAY_MS + 1;
    return p;
  }

  it('warns from 30 days before the certificate ends: banner on every page, mark in the list and on the server page', async () => {
    panel = expiryPanel();
    const { agent, id } = await office365(panel);
    // The client secret's own date is far away: the certificate signs in, so its end is what counts.
    panel.fx.store.sync.servers.update(id, { clientSecretExpires: new Date(panel.clock.now + 400 * DAY_MS).toISOString().slice(0, 10) });
    panel.fx.store.sync.servers.update(id, { clientCertificate: pem(mine) });
    expect(visibleText((await agent.get('/log')).text)).not.toContain('expires in');

    await agent.get(EDIT(id));
    await postMultipart(agent, EDIT(id), { clientCertificate: '' }, { name: 'soon.pem', text: pem(soon) });
    const last = soon.notAfter.toISOString().slice(0, 10);
    for (const path of ['/', '/log', '/servers', `/servers/${id}`, '/users']) {
      expect(visibleText((await agent.get(path)).text), path).toContain(
        `The client certificate of Office 365 expires in 20 days (${last}). Upload a new certificate to the app registration and save it with its private key as Office 365 Client Certificate before mail stops.`,
      );
    }
    expect(visibleText((await agent.get('/servers')).text)).toContain('⚠ certificate expires in 20 days');
    expect(visibleText((await agent.get('/')).text)).toContain(
      `Next client certificate expiry 20 days left Office 365 expires in 20 days (${last})`,
    );
    expect(pageText(await agent.get(`/servers/${id}`))).toContain(
      `SHA-256 thumbprint ${soon.thumbprintSha256}, expires ${formatTime(soon.notAfter.getTime())} expires in 20 days`,
    );

    panel.clock.now += 22 * DAY_MS;
    expect(visibleText((await agent.get('/log')).text)).toContain('The client certificate of Office 365 expired 2 days ago');

    // Removing the certificate ends the warning: the client secret signs in again, and it has 378 days left.
    panel.fx.store.sync.servers.update(id, { clientCertificate: null });
    expect(visibleText((await agent.get('/log')).text)).not.toContain('The client');
  });

  it('raises a warning alert for a certificate ending within 30 days, shown on the Alerts page', async () => {
    panel = expiryPanel();
    const { fx, clock, relay } = panel;
    const { id } = await office365(panel);
    fx.store.sync.servers.update(id, { clientCertificate: pem(soon) });
    const alerts = createAlerts({
      config: fx.config,
      store: fx.store,
      relay: createRelay({ config: fx.config, store: fx.store, log: silentLogger }),
      log: silentLogger,
      now: () => clock.now,
    });
    await alerts.evaluateNow();
    const last = soon.notAfter.toISOString().slice(0, 10);
    expect(await alerts.active()).toEqual([
      expect.objectContaining({
        severity: 'warning',
        server: 'Office 365',
        title: `The client certificate of Office 365 expires in 20 days (${last})`,
      }),
    ]);
    const app = createAdminApp({ config: fx.config, store: fx.store, relay, log: silentLogger, now: () => clock.now, alerts });
    await createUser(panel, 'viewer@contoso.test');
    const viewer = new Agent(app);
    await viewer.signIn('viewer@contoso.test');
    const page = visibleText((await viewer.get('/alerts')).text);
    expect(page).toContain(`The client certificate of Office 365 expires in 20 days (${last})`);
    expect(page).toContain('Office 365 Client Certificate is valid until');
  });
});

describe('Office 365 Client Certificate in the API', () => {
  it('takes a certificate, answers its thumbprint and expiry, never the PEM or key, and refuses a bad one naming the field', async () => {
    panel = createPanel();
    const answers: string[] = [];
    const api = apiClient(panel.app, newToken(panel.fx.store, 'write'), answers);
    const created = await api('POST', '/servers', {
      name: 'office365',
      method: 'office365',
      signInMode: 'application',
      tenantId: SEED.tenantId,
      clientId: SEED.clientId,
      clientCertificate: pem(mine),
      mailbox: SEED.mailbox,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      hasClientSecret: false,
      hasClientCertificate: true,
      clientCertificateThumbprint: mine.thumbprintSha256,
      clientCertificateExpiresAt: mine.notAfter.toISOString(),
    });
    expect(created.body).not.toHaveProperty('clientCertificate');
    expect(panel.fx.store.sync.servers.clientCertificate(created.body.id)).toBe(pem(mine));

    const bad = await api('PATCH', `/servers/${created.body.id}`, { clientCertificate: `${other.certPem}${mine.keyPem}` });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('clientCertificate');
    expect(JSON.stringify(bad.body)).toContain('The private key does not belong to the certificate');
    await api('GET', '/servers');
    await api('GET', `/servers/${created.body.id}`);
    expectNoKeyMaterial(answers.map((a) => a.replace(new RegExp(mine.thumbprintSha256, 'g'), '')));
    expectNoKeyMaterial(panel.logLines);
  });
});
