import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiClient, newToken } from './api/api-client.js';
import { Agent, createPanel, PASSWORD, signedIn, visibleText, type Panel } from './panel.js';

const NEW_PASSWORD = 'a brand new passphrase';

let panel: Panel;
beforeEach(() => {
  panel = createPanel();
});
afterEach(() => panel.cleanup());

describe('Account page', () => {
  it('is linked from every page for every user, whatever their permissions', async () => {
    const viewer = await signedIn(panel, 'viewer@example.com');
    expect((await viewer.get('/log')).text).toContain('href="/account"');
    const page = await viewer.get('/account');
    expect(page.status).toBe(200);
    expect(visibleText(page.text)).toMatch(/Signed in as viewer@example\.com ?\. You can look at everything but change nothing\./);
    expect(visibleText(page.text)).toContain('Change your password');
  });

  it('changes a user’s own password, signs out their other sessions but not this one, and leaves API tokens working', async () => {
    const here = await signedIn(panel, 'viewer@example.com');
    const elsewhere = new Agent(panel.app);
    expect((await elsewhere.signIn('viewer@example.com')).status).toBe(303);
    const token = newToken(panel.fx.store, 'read');
    await here.get('/account');

    const changed = await here.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(changed).toMatchObject({ status: 303, location: '/account' });
    const after = await here.get('/account');
    expect(after.status).toBe(200);
    expect(visibleText(after.text)).toContain('Your password was changed. 1 other session was signed out.');
    expect((await elsewhere.get('/log')).location).toBe('/login?next=%2Flog');
    expect((await apiClient(panel.app, token)('GET', '/servers')).status).toBe(200);
    expect((await new Agent(panel.app).signIn('viewer@example.com')).status).toBe(401);
    expect((await new Agent(panel.app).signIn('viewer@example.com', NEW_PASSWORD)).status).toBe(303);
    expect(panel.logLines.join('\n')).not.toContain(NEW_PASSWORD);
  });

  it('refuses a wrong current password, a short or mismatched new one, and the current one again, changing nothing', async () => {
    const viewer = await signedIn(panel, 'viewer@example.com');
    await viewer.get('/account');
    const refused = async (fields: Record<string, string>): Promise<string> => {
      const res = await viewer.post('/account/password', fields);
      expect(res.status).toBe(422);
      return visibleText(res.text);
    };
    expect(await refused({ current: 'not my password', password: NEW_PASSWORD, confirm: NEW_PASSWORD })).toContain(
      'This is not your current password.',
    );
    expect(await refused({ current: PASSWORD, password: 'short', confirm: 'short' })).toContain('Use at least 12 characters.');
    expect(await refused({ current: PASSWORD, password: NEW_PASSWORD, confirm: 'something else entirely' })).toContain(
      'The two new passwords differ.',
    );
    expect(await refused({ current: PASSWORD, password: PASSWORD, confirm: PASSWORD })).toContain(
      'Choose a password other than the current one.',
    );
    expect((await new Agent(panel.app).signIn('viewer@example.com')).status).toBe(303);
  });

  it('counts wrong current passwords like failed sign-ins, so a borrowed browser cannot guess the password', async () => {
    const viewer = await signedIn(panel, 'viewer@example.com');
    await viewer.get('/account');
    for (let i = 0; i < 5; i++) {
      expect(
        (await viewer.post('/account/password', { current: `guess ${i}`, password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status,
      ).toBe(422);
    }
    const waiting = await viewer.post('/account/password', { current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(waiting.status).toBe(429);
    expect(visibleText(waiting.text)).toContain('Too many wrong passwords. Wait 30 seconds, then try again.');
    expect((await new Agent(panel.app).signIn('viewer@example.com')).status).toBe(429);
  });
});

describe('Users page passwords', () => {
  it('signs a user out everywhere when a Super Admin sets their password', async () => {
    const admin = await signedIn(panel, 'root@example.com', { superAdmin: true });
    const user = await signedIn(panel, 'viewer@example.com');
    const id = panel.fx.store.sync.users.findByEmail('viewer@example.com')!.id;
    await admin.get('/users');
    expect((await admin.post(`/users/${id}`, { password: NEW_PASSWORD })).status).toBe(303);
    expect((await user.get('/log')).status).toBe(303);
    expect((await admin.get('/users')).status).toBe(200);
    expect((await new Agent(panel.app).signIn('viewer@example.com', NEW_PASSWORD)).status).toBe(303);
  });

  it('sends a Super Admin to the Account page for their own password', async () => {
    const admin = await signedIn(panel, 'root@example.com', { superAdmin: true });
    const page = await admin.get('/users');
    expect(page.text).toContain('<a href="/account">Change your password</a>');
    const id = panel.fx.store.sync.users.findByEmail('root@example.com')!.id;
    const refused = await admin.post(`/users/${id}`, { superAdmin: '1', password: NEW_PASSWORD });
    expect(refused.status).toBe(409);
    expect(visibleText(refused.text)).toContain('Change your own password on the Account page');
    expect((await new Agent(panel.app).signIn('root@example.com')).status).toBe(303);
  });
});
