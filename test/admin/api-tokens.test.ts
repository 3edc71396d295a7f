import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiClient } from './api/api-client.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
beforeEach(() => {
  panel = createPanel();
});
afterEach(() => panel.cleanup());

describe('API tokens page', () => {
  it('creates a token shown once, which then works on the API, and revokes it', async () => {
    const admin = await signedIn(panel, 'root@contoso.test', { superAdmin: true });
    expect(visibleText((await admin.get('/api-tokens')).text)).toContain('No API tokens yet.');
    const created = await admin.post('/api-tokens', { name: 'provisioning', scope: 'write' });
    expect(created).toMatchObject({ status: 303, location: '/api-tokens' });
    const shown = await admin.get('/api-tokens');
    const token = /id="one-time-token"[^>]*value="(r365_[^"]+)"/.exec(shown.text)?.[1] as string;
    expect(token).toBeDefined();
    expect(visibleText(shown.text)).toMatch(/provisioning ?, write r365_.{4}… last used never/);
    expect((await apiClient(panel.app, token)('POST', '/servers', { name: 'x', method: 'none', host: '127.0.0.1', port: 25 })).status).toBe(
      201,
    );

    const again = await admin.get('/api-tokens');
    expect(again.text).not.toContain(token);
    expect(visibleText(again.text)).toMatch(
      /provisioning ?, write r365_.{4}… last used \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
    );

    const id = panel.fx.store.sync.apiTokens.findByName('provisioning')!.id;
    expect((await admin.post(`/api-tokens/${id}/revoke`)).status).toBe(303);
    expect(visibleText((await admin.get('/api-tokens')).text)).toContain('Revoked provisioning');
    expect((await apiClient(panel.app, token)('GET', '/servers')).status).toBe(401);
  });

  it('shows what is wrong next to the field', async () => {
    const admin = await signedIn(panel, 'root@contoso.test', { superAdmin: true });
    const bad = await admin.post('/api-tokens', { name: '', scope: 'admin' });
    expect(bad.status).toBe(422);
    expect(visibleText(bad.text)).toContain('Enter a name such as provisioning-script.');
    expect(visibleText(bad.text)).toContain('Choose read or write.');
    await admin.post('/api-tokens', { name: 'monitoring', scope: 'read' });
    const taken = await admin.post('/api-tokens', { name: 'Monitoring', scope: 'read' });
    expect(visibleText(taken.text)).toContain('An API token with this name exists already.');
  });

  it('is for Super Admins only, and the API never opens the panel', async () => {
    const editor = await signedIn(panel, 'editor@contoso.test', { updateSettings: true });
    expect((await editor.get('/api-tokens')).status).toBe(403);
    expect((await editor.post('/api-tokens', { name: 'sneaky', scope: 'write' })).status).toBe(403);
    expect(panel.fx.store.sync.apiTokens.list()).toEqual([]);
    const { token } = panel.fx.store.sync.apiTokens.add({ name: 'script', scope: 'write' });
    const res = await panel.app.request('/servers', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/login/);
  });
});
