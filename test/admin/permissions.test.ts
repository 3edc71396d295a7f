import { afterEach, describe, expect, it } from 'vitest';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

function seed(p: Panel): void {
  p.fx.store.sync.servers.add(
    plainServer({
      name: 'o365',
      method: 'office365',
      signInMode: 'authorize',
      tenantId: 'contoso.com',
      clientId: '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94',
      clientSecret: 'the-secret-value',
    }),
  );
  const now = Date.now();
  p.fx.store.sync.queue.insert([
    queuedMessage('MSG1', 1, {
      mailFrom: 'app@example.com',
      recipients: ['a@example.com'],
      subject: 'x',
      receivedAt: now,
      expiresAt: now + 1e9,
    }),
  ]);
  p.fx.store.sync.queue.holdServer(1, '535 5.7.3 Authentication unsuccessful', Date.now());
}

const EDITS = [
  ['GET', '/servers/new'],
  ['POST', '/servers'],
  ['GET', '/servers/1/edit/port'],
  ['POST', '/servers/1/edit/port'],
  ['POST', '/servers/1/edit/client-secret'],
  ['GET', '/servers/1/delete'],
  ['POST', '/servers/1/delete'],
  ['POST', '/servers/1/authorize'],
  ['POST', '/servers/1/test'],
  ['POST', '/log/MSG1/retry'],
  ['POST', '/log/MSG1/delete'],
  ['GET', '/users'],
  ['POST', '/users'],
  ['POST', '/users/1'],
  ['POST', '/users/1/delete'],
] as const;

describe('permissions', () => {
  it('shows a user without Settings: Update Settings the settings read-only, without edit icons or buttons', async () => {
    panel = createPanel();
    seed(panel);
    const viewer = await signedIn(panel, 'viewer@example.com');
    const page = await viewer.get('/servers/1');
    expect(page.status).toBe(200);
    expect(visibleText(page.text)).toContain('Server Port 25');
    expect(page.text).not.toContain('aria-label="Edit ');
    expect(page.text).not.toContain('/edit/');
    expect(page.text).not.toContain('Send Test Email');
    expect(page.text).toMatch(/<button type="submit" disabled="">\s*Authorize Account/);
    expect((await viewer.get('/servers')).text).not.toContain('New email server');
    const message = await viewer.get('/log/MSG1');
    expect(message.text).not.toContain('Retry now');
    expect(message.text).not.toContain('/log/MSG1/delete');
    expect((await viewer.get('/servers')).text).not.toContain('href="/users"');
  });

  it('answers 403 to every edit by a user without the permission, and changes nothing', async () => {
    panel = createPanel();
    seed(panel);
    const viewer = await signedIn(panel, 'viewer@example.com');
    for (const [method, path] of EDITS) {
      const res =
        method === 'GET'
          ? await viewer.get(path)
          : await viewer.post(path, {
              port: '26',
              name: 'x',
              method: 'none',
              host: 'h',
              clientSecret: 'forged',
              superAdmin: '1',
              updateSettings: '1',
              drop: '1',
              to: 'a@example.com',
            });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    const server = panel.fx.store.sync.servers.get(1)!;
    expect(server.port).toBe(25);
    expect(panel.fx.store.sync.servers.clientSecret(1)).toBe('the-secret-value');
    expect(panel.fx.store.sync.queue.get('MSG1')?.status).toBe('held');
    expect(panel.fx.store.sync.users.findByEmail('viewer@example.com')).toMatchObject({ isSuperAdmin: false, canUpdateSettings: false });
    expect(panel.relay.retryNow).not.toHaveBeenCalled();
    expect(panel.relay.deleteMessage).not.toHaveBeenCalled();
    expect(panel.relay.sendTest).not.toHaveBeenCalled();
  });

  it('lets Settings: Update Settings edit servers but keeps the Users page for Super Admins', async () => {
    panel = createPanel();
    seed(panel);
    const editor = await signedIn(panel, 'editor@example.com', { updateSettings: true });
    expect((await editor.get('/servers/1')).text).toContain('aria-label="Edit Server Port"');
    expect((await editor.post('/servers/1/edit/port', { port: '2525' })).status).toBe(303);
    expect(panel.fx.store.sync.servers.get(1)?.port).toBe(2525);
    expect((await editor.get('/users')).status).toBe(403);
  });

  it('lets a Super Admin create users and grant both permissions with their labels', async () => {
    panel = createPanel();
    const admin = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    const page = await admin.get('/users');
    expect(visibleText(page.text)).toContain('Settings: Update Settings');
    expect(visibleText(page.text)).toContain('Make this user a Super Admin');
    const bad = await admin.post('/users', { email: 'not an address', password: 'short' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Enter an email address');
    expect(bad.text).toContain('Use at least 12 characters.');
    expect((await admin.post('/users', { email: 'new@example.com', password: 'a long enough password', updateSettings: '1' })).status).toBe(
      303,
    );
    const created = panel.fx.store.sync.users.findByEmail('new@example.com')!;
    expect(created).toMatchObject({ canUpdateSettings: true, isSuperAdmin: false });
    expect((await admin.post(`/users/${created.id}`, { superAdmin: '1' })).status).toBe(303);
    expect(panel.fx.store.sync.users.get(created.id)).toMatchObject({ canUpdateSettings: false, isSuperAdmin: true });
  });

  it('keeps at least one Super Admin', async () => {
    panel = createPanel();
    const admin = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    const me = panel.fx.store.sync.users.findByEmail('admin@example.com')!;
    expect((await admin.post(`/users/${me.id}`, { updateSettings: '1' })).status).toBe(409);
    expect((await admin.post(`/users/${me.id}/delete`)).status).toBe(409);
    expect(panel.fx.store.sync.users.get(me.id)?.isSuperAdmin).toBe(true);
  });
});
