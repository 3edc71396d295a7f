import { afterEach, describe, expect, it } from 'vitest';
import { plainServer } from '../helpers/fixture.js';
import { Agent, createPanel, createUser, PASSWORD, signedIn, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

const STATE_CHANGING = [
  ['/servers', { name: 'forged', method: 'none', host: 'mx.example.com' }],
  ['/servers/1/edit/port', { port: '25' }],
  ['/servers/1/delete', { drop: '1' }],
  ['/servers/1/authorize', {}],
  ['/servers/1/test', { to: 'victim@example.com' }],
  ['/log/MSG1/retry', {}],
  ['/log/MSG1/delete', {}],
  ['/users', { email: 'attacker@example.com', password: 'attacker password', superAdmin: '1' }],
  ['/users/1', { superAdmin: '1', updateSettings: '1' }],
  ['/users/2/delete', {}],
  ['/relay-users', { name: 'forged', serverId: '1', password: 'attacker password 1' }],
  ['/relay-users/1/password', {}],
  ['/networks', { cidr: '0.0.0.0/0', serverId: '1' }],
  ['/relay-users/lockouts/unlock', { address: '127.0.0.7' }],
  ['/logout', {}],
] as const;

describe('CSRF protection', () => {
  it('refuses every state-changing form posted without the CSRF token', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    const agent = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    await createUser(panel, 'other@example.com');
    for (const [path, fields] of STATE_CHANGING) {
      const res = await agent.post(path, fields, { csrf: false });
      expect(res.status, path).toBe(403);
      expect(res.text, path).toContain('This form was not accepted');
    }
    expect(panel.fx.store.sync.servers.list().map((s) => s.port)).toEqual([25]);
    expect(panel.fx.store.sync.servers.findByName('forged')).toBeUndefined();
    expect(panel.fx.store.sync.users.count()).toBe(2);
    expect(panel.fx.store.sync.relayUsers.list()).toHaveLength(0);
    expect(panel.fx.store.sync.networks.list()).toHaveLength(0);
    expect(panel.relay.sendTest).not.toHaveBeenCalled();
    expect((await agent.get('/servers')).status).toBe(200);
  });

  it("refuses another session's token", async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    const victim = await signedIn(panel, 'victim@example.com', { superAdmin: true });
    const attacker = await signedIn(panel, 'attacker@example.com', { superAdmin: true });
    expect(attacker.csrf).not.toBe(victim.csrf);
    const res = await victim.post('/servers/1/edit/port', { _csrf: attacker.csrf, port: '26' });
    expect(res.status).toBe(403);
    expect(panel.fx.store.sync.servers.get(1)?.port).toBe(25);
  });

  it('refuses a form whose Origin is another site, even with a valid token', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    const agent = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    const res = await agent.post('/servers/1/edit/port', { port: '26' }, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const ok = await agent.post('/servers/1/edit/port', { port: '26' }, { headers: { origin: 'http://localhost:8025' } });
    expect(ok.status).toBe(303);
    expect(panel.fx.store.sync.servers.get(1)?.port).toBe(26);
  });

  it('protects the login form too (login CSRF)', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    const res = await agent.post('/login', { email: 'admin@example.com', password: PASSWORD }, { csrf: false });
    expect(res.status).toBe(403);
    expect(agent.cookies.has('relay365_session')).toBe(false);
  });

  it('never shows one session the CSRF token of another', async () => {
    panel = createPanel();
    const a = await signedIn(panel, 'a@example.com', { superAdmin: true });
    const b = await signedIn(panel, 'b@example.com', { superAdmin: true });
    for (const path of ['/servers', '/users', '/log']) expect((await b.get(path)).text).not.toContain(a.csrf);
  });
});
