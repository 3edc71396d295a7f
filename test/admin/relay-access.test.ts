import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/passwords.js';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { relayUserArrivesBeforeRemoval } from '../helpers/removal-race.js';
import { apiClient, newToken } from './api/api-client.js';
import { createPanel, LISTENER_INFO, signedIn, visibleText, type Agent, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

const CHOSEN_PASSWORD = 'printer password 42';

/** A panel with two email servers and an editor signed in. */
async function editorPanel(env: Record<string, string> = {}): Promise<Agent> {
  panel = createPanel({ env });
  panel.fx.store.sync.servers.add(plainServer({ name: 'o365' }));
  panel.fx.store.sync.servers.add(plainServer({ name: 'smarthost' }));
  return signedIn(panel, 'editor@example.com', { updateSettings: true });
}

const oneTimePassword = (html: string): string | undefined => /id="one-time-password"[^>]*value="([^"]+)"/.exec(html)?.[1];
const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

/** The database files as bytes: what an attacker who copies the data folder gets. */
function databaseBytes(p: Panel): Buffer {
  const file = path.join(p.fx.dir, 'relay365.db');
  return Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));
}

describe('relay users page', () => {
  it('shows a generated password once, on the page after adding, and stores only its hash', async () => {
    const agent = await editorPanel();
    const form = await agent.get('/relay-users');
    expect(visibleText(form.text)).toContain('Add a relay user Username Email server o365 (default) smarthost Password');

    const added = await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: '', allowFrom: '' });
    expect(added.status).toBe(303);
    expect(added.location).toBe('/relay-users/1');
    const result = await agent.get(added.location!);
    const password = oneTimePassword(result.text);
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(result.text.split(password!).length - 1).toBe(1);
    expect(visibleText(result.text)).toContain('Shown only this once.');
    expect(visibleText(result.text)).toContain('SMTP server localhost Port 2525 Security STARTTLS Authentication on (PLAIN or LOGIN)');
    expect(visibleText(result.text)).toContain('Username scanner');

    const reload = await agent.get(added.location!);
    expect(reload.status).toBe(200);
    expect(oneTimePassword(reload.text)).toBeUndefined();
    await agent.get('/relay-users');
    expect(agent.bodies.filter((body) => body.includes(password!))).toHaveLength(1);

    const hash = panel.fx.store.sync.relayUsers.passwordHash(1)!;
    expect(hash).toMatch(/^scrypt\$/);
    await expect(verifyPassword(password!, hash)).resolves.toBe(true);
    // The hash is readable in the files, so the password's absence means it was never written.
    expect(databaseBytes(panel).includes(hash)).toBe(true);
    expect(databaseBytes(panel).includes(password!)).toBe(false);
    expect(panel.logLines.join('\n')).not.toContain(password);
  });

  it('drops a generated password that was not looked at within five minutes', async () => {
    const agent = await editorPanel();
    const added = await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: '' });
    panel.clock.now += 5 * 60_000 + 1;
    const late = await agent.get(added.location!);
    expect(late.status).toBe(200);
    expect(oneTimePassword(late.text)).toBeUndefined();
    expect(late.text).toContain('Reset password');
  });

  it('adds a relay user with the password the admin chose, without showing it back', async () => {
    const agent = await editorPanel();
    const added = await agent.post('/relay-users', {
      name: 'erp',
      serverId: '2',
      password: CHOSEN_PASSWORD,
      allowFrom: 'ERP@contoso.com,\n@fabrikam.com',
    });
    expect(added.status).toBe(303);
    const page = await agent.get(added.location!);
    expect(page.text).not.toContain(CHOSEN_PASSWORD);
    expect(oneTimePassword(page.text)).toBeUndefined();
    expect(visibleText(page.text)).toContain('Added erp. Enter the password you chose in the device.');
    const user = panel.fx.store.sync.relayUsers.findByName('erp')!;
    expect(user).toMatchObject({ serverId: 2, allowFrom: ['erp@contoso.com', '@fabrikam.com'], disabled: false });
    await expect(verifyPassword(CHOSEN_PASSWORD, panel.fx.store.sync.relayUsers.passwordHash(user.id)!)).resolves.toBe(true);

    const list = visibleText((await agent.get('/relay-users')).text);
    expect(list).toContain('Username Email server Allowed From State Last used Created');
    expect(list).toMatch(/erp smarthost erp@contoso\.com, @fabrikam\.com enabled never \d{4}-\d\d-\d\d/);
  });

  it('re-renders the add form with the message next to each bad field and adds nothing', async () => {
    const agent = await editorPanel();
    const bad = await agent.post('/relay-users', {
      name: 'front desk',
      serverId: '9',
      password: 'short',
      allowFrom: 'sales, @contoso.com',
    });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/id="relay-name-error"[^>]*>Use letters, digits and \. _ @ \+ - only \(no spaces\)\.</);
    expect(bad.text).toMatch(/id="relay-server-error"[^>]*>Choose one of the email servers\.</);
    expect(bad.text).toMatch(/id="relay-password-error"[^>]*>A relay password has at least 12 characters\.</);
    expect(bad.text).toMatch(/id="relay-allow-from-error"[^>]*>&quot;sales&quot; is neither an address nor an @domain\.</);
    expect(bad.text).toContain('value="front desk"');
    expect(bad.text).not.toContain('short');
    expect(panel.fx.store.sync.relayUsers.list()).toEqual([]);

    await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: '' });
    const again = await agent.post('/relay-users', { name: 'scanner', serverId: '2', password: '' });
    expect(again.status).toBe(422);
    expect(again.text).toMatch(/id="relay-name-error"[^>]*>A relay user with this name exists already\.</);
    expect(panel.fx.store.sync.relayUsers.list()).toHaveLength(1);
  });

  it('changes the email server and allowed From, resets the password, disables, enables and removes a user', async () => {
    const agent = await editorPanel();
    await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: CHOSEN_PASSWORD });
    const before = panel.fx.store.sync.relayUsers.passwordHash(1)!;

    const bad = await agent.post('/relay-users/1', { serverId: '2', allowFrom: '@' });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/id="user-allow-from-error"[^>]*>&quot;@&quot; is neither an address nor an @domain\.</);
    expect((await agent.post('/relay-users/1', { serverId: '2', allowFrom: '@contoso.com' })).status).toBe(303);
    expect(panel.fx.store.sync.relayUsers.get(1)).toMatchObject({ serverId: 2, allowFrom: ['@contoso.com'] });
    expect((await agent.post('/relay-users/1', { serverId: '2', allowFrom: '' })).status).toBe(303);
    expect(panel.fx.store.sync.relayUsers.get(1)?.allowFrom).toEqual([]);

    const reset = await agent.post('/relay-users/1/password');
    expect(reset.location).toBe('/relay-users/1');
    const password = oneTimePassword((await agent.get('/relay-users/1')).text)!;
    await expect(verifyPassword(password, panel.fx.store.sync.relayUsers.passwordHash(1)!)).resolves.toBe(true);
    expect(panel.fx.store.sync.relayUsers.passwordHash(1)).not.toBe(before);
    expect(oneTimePassword((await agent.get('/relay-users/1')).text)).toBeUndefined();

    expect((await agent.post('/relay-users/1/disable')).status).toBe(303);
    expect(panel.fx.store.sync.relayUsers.get(1)?.disabled).toBe(true);
    expect(visibleText((await agent.get('/relay-users')).text)).toContain('scanner smarthost any sender disabled');
    expect((await agent.post('/relay-users/1/enable')).status).toBe(303);
    expect(panel.fx.store.sync.relayUsers.get(1)?.disabled).toBe(false);

    const page = await agent.get('/relay-users/1');
    expect(page.text).toContain('data-confirm="Remove relay user scanner?');
    expect((await agent.post('/relay-users/1/delete')).location).toBe('/relay-users');
    expect(panel.fx.store.sync.relayUsers.list()).toEqual([]);
    expect((await agent.get('/relay-users/1')).status).toBe(404);
  });

  it('lists the client addresses locked out of SMTP AUTH and Unlock lifts a lockout', async () => {
    const agent = await editorPanel();
    for (let i = 0; i < 5; i++) panel.fx.store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', panel.clock.now - 60_000 + i);
    const page = visibleText((await agent.get('/relay-users')).text);
    expect(page).toContain('Client address Locked since Until Strikes Last username tried Unlock');
    expect(page).toMatch(/203\.0\.113\.9 \d{4}-\d\d-\d\d [\d:]+ UTC \d{4}-\d\d-\d\d [\d:]+ UTC 1 scanner Unlock/);

    const unlocked = await agent.post('/relay-users/lockouts/unlock', { address: '203.0.113.9' });
    expect(unlocked.location).toBe('/relay-users');
    expect(panel.fx.store.sync.lockouts.active('203.0.113.9', panel.clock.now)).toBeNull();
    const after = visibleText((await agent.get('/relay-users')).text);
    expect(after).toContain('Unlocked 203.0.113.9');
    expect(after).toContain('No client address is locked out.');
  });

  it('shows the device settings of the deployment: the public host, the published ports and the security each needs', async () => {
    const agent = await editorPanel({
      RELAY365_SMTP_LISTEN: '0.0.0.0:2525',
      RELAY365_SMTPS_LISTEN: '0.0.0.0:4465',
      RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test',
      RELAY365_SMTP_PUBLIC_PORTS: '587,25',
      RELAY365_SMTPS_PUBLIC_PORTS: '465',
      RELAY365_ALLOW_PLAINTEXT_AUTH: 'true',
    });
    await agent.post('/relay-users', { name: 'printer1', serverId: '1', password: CHOSEN_PASSWORD, allowFrom: '' });
    const page = visibleText((await agent.get('/relay-users/1')).text);
    expect(page).toContain(
      'Device settings SMTP server relay.contoso.test Port 587 or 25 Security STARTTLS ' +
        'Or port 465 with security SSL/TLS (implicit TLS) ' +
        'Or port 587 or 25 with security none: the password then crosses the network in clear text ' +
        "Authentication on (PLAIN or LOGIN) Username printer1 Password the relay user's password",
    );
    expect(page).not.toContain('localhost');
  });

  it('says that only this machine can reach a loopback listener', async () => {
    const agent = await editorPanel();
    await agent.post('/relay-users', { name: 'printer1', serverId: '1', password: CHOSEN_PASSWORD, allowFrom: '' });
    expect(visibleText((await agent.get('/relay-users/1')).text)).toContain(
      'Only this machine can reach relay365: RELAY365_SMTP_LISTEN (127.0.0.1) listens on loopback.',
    );
  });
});

describe('networks page', () => {
  it('adds IPv4 and IPv6 networks, lists the environment rules read-only, and removes a stored rule', async () => {
    const agent = await editorPanel({ RELAY365_RELAY_NETWORKS: '127.0.0.0/8,::1/128' });
    const empty = visibleText((await agent.get('/networks')).text);
    expect(empty).toContain('relay without logging in');
    expect(empty).toContain('127.0.0.0/8 the default server (o365) environment (RELAY365_RELAY_NETWORKS)');
    expect(empty).toContain('::1/128 the default server (o365) environment (RELAY365_RELAY_NETWORKS)');

    expect((await agent.post('/networks', { cidr: '10.1.0.0/16', serverId: '2' })).status).toBe(303);
    expect((await agent.post('/networks', { cidr: '2001:DB8:10::/64', serverId: '1' })).status).toBe(303);
    expect(panel.fx.store.sync.networks.list().map((r) => [r.cidr, r.serverId])).toEqual([
      ['10.1.0.0/16', 2],
      ['2001:db8:10::/64', 1],
    ]);
    const page = await agent.get('/networks');
    expect(visibleText(page.text)).toContain('Added 2001:db8:10::/64, routed to o365.');
    expect(visibleText(page.text)).toMatch(/10\.1\.0\.0\/16 smarthost added \d{4}-/);
    expect(page.text).toContain('aria-label="Remove 10.1.0.0/16"');
    expect(page.text).not.toContain('aria-label="Remove 127.0.0.0/8"');

    expect((await agent.post('/networks/remove', { cidr: '10.1.0.0/16' })).location).toBe('/networks');
    expect(panel.fx.store.sync.networks.list().map((r) => r.cidr)).toEqual(['2001:db8:10::/64']);
    expect((await agent.post('/networks/remove', { cidr: '127.0.0.0/8' })).status).toBe(303);
    expect(visibleText((await agent.get('/networks')).text)).toContain('That network is not in the stored list');
  });

  it('re-renders the add form with the message next to a bad or duplicate network', async () => {
    const agent = await editorPanel();
    const prefix = await agent.post('/networks', { cidr: '10.1.0.0/33', serverId: '1' });
    expect(prefix.status).toBe(422);
    expect(prefix.text).toMatch(/id="network-cidr-error"[^>]*>&quot;10\.1\.0\.0\/33&quot; has a bad prefix length: use \/0 to \/32\.</);
    expect(prefix.text).toContain('value="10.1.0.0/33"');
    const junk = await agent.post('/networks', { cidr: 'printer', serverId: '1' });
    expect(junk.status).toBe(422);
    expect(visibleText(junk.text)).toContain('"printer" is not a network: use a CIDR such as 192.168.10.0/24');
    const noServer = await agent.post('/networks', { cidr: '10.2.0.0/16', serverId: '' });
    expect(noServer.text).toMatch(/id="network-server-error"[^>]*>Choose one of the email servers\.</);

    panel.fx.store.sync.networks.add(cidr('10.1.0.0/16'), 2);
    const duplicate = await agent.post('/networks', { cidr: '10.1.0.0/16', serverId: '1' });
    expect(duplicate.status).toBe(422);
    expect(visibleText(duplicate.text)).toContain('10.1.0.0/16 is in the list already, routed to smarthost.');
    expect(panel.fx.store.sync.networks.list()).toHaveLength(1);
  });

  it('refuses 0.0.0.0/0 to an editor with the reason, and a Super Admin forces it with the confirm box', async () => {
    const editor = await editorPanel();
    const refused = await editor.post('/networks', { cidr: '0.0.0.0/0', serverId: '1' });
    expect(refused.status).toBe(422);
    expect(visibleText(refused.text)).toContain(
      '0.0.0.0/0 covers every IPv4 address: anyone in that range could send mail as your tenant through relay365 without a password, so a network wider than a /8 is refused unless forced. Only a Super Admin can allow a network this wide.',
    );
    expect(refused.text).not.toContain('name="force"');
    // The box is not offered to an editor, and ticking it by hand changes nothing.
    expect((await editor.post('/networks', { cidr: '0.0.0.0/0', serverId: '1', force: '1' })).status).toBe(422);
    expect((await editor.post('/networks', { cidr: '::/0', serverId: '1', force: '1' })).status).toBe(422);
    expect(panel.fx.store.sync.networks.list()).toEqual([]);

    const admin = await signedIn(panel, 'root@example.com', { superAdmin: true });
    const asked = await admin.post('/networks', { cidr: '::/0', serverId: '1' });
    expect(asked.status).toBe(422);
    expect(visibleText(asked.text)).toContain(
      '::/0 covers every IPv6 address: anyone in that range could send mail as your tenant through relay365 without a password, so a network wider than a /32 is refused unless forced. Tick "Allow this network anyway" and add it again if you mean it.',
    );
    expect(visibleText(asked.text)).toContain('Allow this network anyway: anyone in it can send mail as your tenant without a password');
    expect(panel.fx.store.sync.networks.list()).toEqual([]);

    const forced = await admin.post('/networks', { cidr: '::/0', serverId: '1', force: '1' });
    expect(forced.status).toBe(303);
    expect(panel.fx.store.sync.networks.list().map((r) => r.cidr)).toEqual(['::/0']);
    expect(panel.logLines.filter((l) => l.includes('wide allowed network added'))).toEqual([
      expect.stringMatching(/"cidr":"::\/0".*"by":"root@example.com".*"forced":true/),
    ]);
  });

  it('warns about stored and environment rules wider than a /16 (a /48 for IPv6), but not about loopback', async () => {
    const agent = await editorPanel({ RELAY365_RELAY_NETWORKS: '127.0.0.0/8,::1/128,10.0.0.0/8' });
    const quiet = visibleText((await agent.get('/networks')).text);
    expect(quiet).toContain(
      'Wide networks. Narrow these to the devices that need to send: 10.0.0.0/8 is wider than a /16: anyone among its 16,777,216 addresses can send mail as your tenant without a password (from RELAY365_RELAY_NETWORKS: change the variable and restart).',
    );
    expect(quiet).not.toContain('127.0.0.0/8 is wider');

    expect((await agent.post('/networks', { cidr: '172.16.0.0/12', serverId: '1' })).status).toBe(303);
    expect((await agent.post('/networks', { cidr: '192.168.0.0/16', serverId: '1' })).status).toBe(303);
    expect((await agent.post('/networks', { cidr: '2001:db8::/40', serverId: '2' })).status).toBe(303);
    expect((await agent.post('/networks', { cidr: '2001:db9::/48', serverId: '2' })).status).toBe(303);
    const page = visibleText((await agent.get('/networks')).text);
    expect(page).toContain(
      '172.16.0.0/12 is wider than a /16: anyone among its 1,048,576 addresses can send mail as your tenant without a password.',
    );
    expect(page).toContain(
      '2001:db8::/40 is wider than a /48: anyone among its 2^88 addresses can send mail as your tenant without a password.',
    );
    expect(page).not.toContain('192.168.0.0/16 is wider');
    expect(page).not.toContain('2001:db9::/48 is wider');
    expect(panel.logLines.filter((l) => l.includes('wide allowed network added'))).toHaveLength(2);

    const viewer = await signedIn(panel, 'viewer@example.com');
    expect(visibleText((await viewer.get('/networks')).text)).toContain('172.16.0.0/12 is wider than a /16');
  });

  it('shows a device in an allowed network the settings without authentication', async () => {
    const agent = await editorPanel({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525', RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test' });
    expect(visibleText((await agent.get('/networks')).text)).toContain(
      'Device settings SMTP server relay.contoso.test Port 2525 Security STARTTLS Or port 2525 with security none ' +
        'Authentication off: devices whose address is in an allowed network send without logging in SMTP listener',
    );
  });

  it('shows the listener certificate and warns when plain-text login or old TLS is allowed', async () => {
    const agent = await editorPanel();
    const normal = visibleText((await agent.get('/networks')).text);
    expect(normal).toContain(`SHA-256 fingerprint ${LISTENER_INFO.certificate.fingerprint256}`);
    expect(normal).toContain('Certificate CN=relay.contoso.test');
    expect(normal).toContain('Valid until 2035-01-01 00:00:00 UTC');
    expect(normal).toContain('relay365 generated this self-signed certificate itself');
    expect(normal).toContain('RELAY365_TLS_CERT_FILE and RELAY365_TLS_KEY_FILE');
    expect(normal).not.toContain('Plain-text login allowed.');
    expect(normal).not.toContain('Old TLS accepted.');

    panel.relay.listenerInfo.mockReturnValue({
      ...LISTENER_INFO,
      smtps: '0.0.0.0:465',
      certificate: { ...LISTENER_INFO.certificate, generated: false },
      allowPlaintextAuth: true,
      tlsMinVersion: 'TLSv1',
    });
    const weak = await agent.get('/networks');
    expect(weak.text).toMatch(/class="warning"[^>]*><strong>Plain-text login allowed\.<\/strong>[^<]*clear text/);
    expect(weak.text).toMatch(/class="warning"[^>]*><strong>Old TLS accepted\.<\/strong>/);
    expect(visibleText(weak.text)).toContain('SMTPS (implicit TLS) 0.0.0.0:465');
    expect(visibleText(weak.text)).not.toContain('generated this self-signed certificate');

    panel.relay.listenerInfo.mockReturnValue(null);
    expect(visibleText((await agent.get('/networks')).text)).toContain('The SMTP listener has not started yet.');
  });
});

describe('relay access permissions', () => {
  it('shows a user without Settings: Update Settings the pages without forms, and answers 403 to every change', async () => {
    panel = createPanel();
    const { store } = panel.fx;
    store.sync.servers.add(plainServer({ name: 'o365' }));
    store.sync.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$x', serverId: 1, allowFrom: [] });
    store.sync.networks.add(cidr('10.1.0.0/16'), 1);
    for (let i = 0; i < 5; i++) store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', panel.clock.now);
    const viewer = await signedIn(panel, 'viewer@example.com');

    const users = await viewer.get('/relay-users');
    expect(users.status).toBe(200);
    expect(visibleText(users.text)).toContain('scanner o365 any sender enabled');
    expect(visibleText(users.text)).toContain('203.0.113.9');
    expect(users.text).not.toContain('Add a relay user');
    expect(users.text).not.toContain('/relay-users/lockouts/unlock');
    const user = await viewer.get('/relay-users/1');
    expect(user.status).toBe(200);
    expect(user.text).not.toContain('Reset password');
    expect(user.text).not.toContain('method="post" action="/relay-users/1');
    const networks = await viewer.get('/networks');
    expect(networks.status).toBe(200);
    expect(visibleText(networks.text)).toContain('10.1.0.0/16 o365');
    expect(networks.text).not.toContain('Add a network');
    expect(networks.text).not.toContain('/networks/remove');

    const posts: [string, Record<string, string>][] = [
      ['/relay-users', { name: 'forged', serverId: '1', password: '' }],
      ['/relay-users/1', { serverId: '1', allowFrom: '@evil.test' }],
      ['/relay-users/1/password', {}],
      ['/relay-users/1/disable', {}],
      ['/relay-users/1/enable', {}],
      ['/relay-users/1/delete', {}],
      ['/relay-users/lockouts/unlock', { address: '203.0.113.9' }],
      ['/networks', { cidr: '0.0.0.0/0', serverId: '1' }],
      ['/networks/remove', { cidr: '10.1.0.0/16' }],
    ];
    for (const [path, fields] of posts) expect((await viewer.post(path, fields)).status, path).toBe(403);
    expect(store.sync.relayUsers.list()).toMatchObject([{ name: 'scanner', allowFrom: [], disabled: false }]);
    expect(store.sync.relayUsers.passwordHash(1)).toBe('scrypt$x');
    expect(store.sync.networks.list().map((r) => r.cidr)).toEqual(['10.1.0.0/16']);
    expect(store.sync.lockouts.active('203.0.113.9', panel.clock.now)).not.toBeNull();
  });
});

describe('allowed networks in the API', () => {
  it('refuses a network wider than a /8 without "force": true, saying why, and allows it with it', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'o365' }));
    const api = apiClient(panel.app, newToken(panel.fx.store, 'write'));
    const refused = await api('POST', '/networks', { cidr: '0.0.0.0/0', serverId: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({
      code: 'invalid',
      field: 'cidr',
      message:
        '0.0.0.0/0 covers every IPv4 address: anyone in that range could send mail as your tenant through relay365 without a password, so a network wider than a /8 is refused unless forced. Send "force": true if you mean it.',
    });
    expect((await api('POST', '/networks', { cidr: '8.0.0.0/7', serverId: 1, force: false })).status).toBe(400);
    expect(panel.fx.store.sync.networks.list()).toEqual([]);

    const forced = await api('POST', '/networks', { cidr: '0.0.0.0/0', serverId: 1, force: true });
    expect(forced.status).toBe(201);
    expect(forced.body).toMatchObject({ cidr: '0.0.0.0/0', server: 'o365', source: 'stored' });
    expect((await api('POST', '/networks', { cidr: '10.0.0.0/8', serverId: 1 })).status).toBe(201);
    expect(panel.logLines.filter((l) => l.includes('wide network allowed')).map((l) => JSON.parse(l).forced)).toEqual([true, false]);
  });
});

describe('relay access forms and CSRF', () => {
  it('puts the CSRF field in every form and refuses every post without it', async () => {
    const agent = await editorPanel();
    await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: '' });
    await agent.post('/networks', { cidr: '10.1.0.0/16', serverId: '1' });
    for (let i = 0; i < 5; i++) panel.fx.store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', panel.clock.now);
    for (const page of ['/relay-users', '/relay-users/1', '/networks']) {
      const forms = (await agent.get(page)).text.match(/<form method="post"[\s\S]*?<\/form>/g) ?? [];
      expect(forms.length, page).toBeGreaterThan(1);
      for (const form of forms) expect(form, page).toContain('name="_csrf"');
    }
    for (const path of [
      '/relay-users',
      '/relay-users/1',
      '/relay-users/1/password',
      '/relay-users/1/delete',
      '/relay-users/lockouts/unlock',
      '/networks',
      '/networks/remove',
    ]) {
      const res = await agent.post(path, { name: 'forged', serverId: '1', cidr: '10.1.0.0/16', address: '203.0.113.9' }, { csrf: false });
      expect(res.status, path).toBe(403);
      expect(res.text, path).toContain('This form was not accepted');
    }
    expect(panel.fx.store.sync.relayUsers.list().map((u) => u.name)).toEqual(['scanner']);
    expect(panel.fx.store.sync.networks.list()).toHaveLength(1);
    expect(panel.fx.store.sync.lockouts.list(panel.clock.now)).toHaveLength(1);
  });
});

describe('email server delete', () => {
  it('refuses to delete a server while relay users or networks route to it, naming them', async () => {
    const agent = await editorPanel();
    await agent.post('/relay-users', { name: 'scanner', serverId: '1', password: '' });
    await agent.post('/networks', { cidr: '10.1.0.0/16', serverId: '1' });

    const confirm = await agent.get('/servers/1/delete');
    expect(visibleText(confirm.text)).toContain('This server cannot be deleted yet');
    expect(visibleText(confirm.text)).toContain('relay user scanner network 10.1.0.0/16');
    expect(confirm.text).not.toContain('Delete server</button>');
    const refused = await agent.post('/servers/1/delete');
    expect(refused.status).toBe(409);
    expect(visibleText(refused.text)).toContain('o365 was not deleted: relay users or networks still route mail to it.');
    expect(panel.fx.store.sync.servers.get(1)).toBeDefined();

    await agent.post('/relay-users/1', { serverId: '2', allowFrom: '' });
    await agent.post('/networks/remove', { cidr: '10.1.0.0/16' });
    expect((await agent.get('/servers/1/delete')).text).toContain('Delete server');
    expect((await agent.post('/servers/1/delete')).status).toBe(303);
    expect(panel.fx.store.sync.servers.get(1)).toBeUndefined();
  });

  it('refuses, naming it, a relay user added just before the removal runs, instead of failing with an error page', async () => {
    const agent = await editorPanel();
    relayUserArrivesBeforeRemoval(panel.fx.store, 'late-scanner');
    const refused = await agent.post('/servers/1/delete');
    expect(refused.status).toBe(409);
    expect(visibleText(refused.text)).toContain('o365 was not deleted: relay users or networks still route mail to it.');
    expect(visibleText(refused.text)).toContain('relay user late-scanner');
    expect(panel.fx.store.sync.servers.get(1)).toBeDefined();
  });
});

describe('route in the relay log', () => {
  it('shows the client address and the route in the list and on the message page', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'o365' }));
    const now = panel.clock.now;
    panel.fx.store.sync.queue.insert([
      queuedMessage('MSG1', 1, {
        mailFrom: 'scanner@contoso.com',
        recipients: ['alice@fabrikam.com'],
        subject: 'Scan',
        clientAddress: '192.0.2.7',
        route: 'relay user scanner',
        relayUser: 'scanner',
        receivedAt: now,
        expiresAt: now + 1e9,
      }),
    ]);
    const agent = await signedIn(panel, 'viewer@example.com');
    const list = visibleText((await agent.get('/log')).text);
    expect(list).toContain('Last upstream reply Server and client');
    expect(list).toContain('queued scanner@contoso.com to alice@fabrikam.com Scan 10 B o365 from 192.0.2.7 relay user scanner');
    const message = visibleText((await agent.get('/log/MSG1')).text);
    expect(message).toMatch(/Received \d{4}-\d\d-\d\d [\d:]+ UTC from 192\.0\.2\.7 Route relay user scanner/);
  });
});
