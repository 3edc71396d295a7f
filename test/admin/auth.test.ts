import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapFirstAdmin } from '../../src/admin/accounts.js';
import { hashToken } from '../../src/store/users.js';
import { Agent, createPanel, createUser, PASSWORD, signedIn, type Panel } from './panel.js';
import { silentLogger } from '../../src/log.js';
import { SEED } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { fillPasswordQueue } from '../helpers/password-queue.js';
import { connectRaw } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';
import { postFrom, type Answer } from './peer.js';

let panel: Panel;
let harness: Harness | null = null;
afterEach(async () => {
  panel?.cleanup();
  await harness?.close();
  harness = null;
});

/** Every page and form of the panel, with a server and a message to point at. */
const PROTECTED_GETS = [
  '/',
  '/servers',
  '/servers/new',
  '/servers/1',
  '/servers/1/edit/port',
  '/servers/1/delete',
  '/log',
  '/log/MSG1',
  '/log/events',
  '/users',
];
const PROTECTED_POSTS = [
  '/servers',
  '/servers/1/edit/port',
  '/servers/1/delete',
  '/servers/1/authorize',
  '/servers/1/test',
  '/log/MSG1/retry',
  '/log/MSG1/delete',
  '/users',
  '/users/1',
  '/users/1/delete',
];

describe('sign-in', () => {
  it('requires a login for every page and form except login, setup and the OAuth callback', async () => {
    panel = createPanel();
    const agent = new Agent(panel.app);
    for (const path of PROTECTED_GETS) {
      const res = await agent.get(path);
      expect(res.status, path).toBe(303);
      expect(res.location, path).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    await agent.get('/login');
    for (const path of PROTECTED_POSTS) {
      const res = await agent.post(path, { port: '25' });
      expect(res.status, path).toBe(303);
      expect(res.location, path).toBe('/login');
    }
    expect((await agent.get('/login')).status).toBe(200);
    expect((await agent.get('/assets/style.css')).status).toBe(200);
    expect((await agent.get('/oauth/office365/callback?state=x&code=y')).status).toBe(400);
    expect((await agent.get('/setup/unknown-token')).status).toBe(404);
  });

  it('signs in with email and password, sets a HttpOnly SameSite=Lax session cookie and stores only its hash', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    await agent.get('/login?next=/log');
    const res = await agent.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ _csrf: agent.csrf, email: 'ADMIN@example.com', password: PASSWORD, next: '/log' }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/log');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('relay365_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const id = agent.cookies.get('relay365_session')!;
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    const rows = panel.fx.store.db.prepare('SELECT id_hash FROM sessions').all() as { id_hash: string }[];
    expect(rows).toEqual([{ id_hash: hashToken(id) }]);
    expect((await agent.get('/log')).status).toBe(200);
  });

  it('marks the session cookie Secure when the public URL is https', async () => {
    panel = createPanel({ env: { RELAY365_PUBLIC_URL: 'https://relay.example.com' } });
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    await agent.get('/login');
    const res = await agent.post(
      '/login',
      { email: 'admin@example.com', password: PASSWORD },
      { headers: { origin: 'https://relay.example.com' } },
    );
    expect(res.headers.getSetCookie().find((c) => c.startsWith('relay365_session='))).toMatch(/; Secure/);
  });

  it('refuses a wrong password with one message that does not reveal whether the account exists', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    const wrong = await agent.signIn('admin@example.com', 'not the password');
    const unknown = await agent.signIn('nobody@example.com', 'not the password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('Email or password is not correct.');
    expect(unknown.text).toContain('Email or password is not correct.');
    expect(agent.cookies.has('relay365_session')).toBe(false);
  });

  it('makes an account wait after 5 failed sign-ins, with a delay that grows', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    for (let i = 0; i < 5; i++) expect((await agent.signIn('admin@example.com', `wrong ${i}`)).status).toBe(401);
    const blocked = await agent.signIn('admin@example.com');
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed sign-ins. Wait 30 seconds, then try again.');
    panel.clock.now += 31_000;
    expect((await agent.signIn('admin@example.com', 'wrong again')).status).toBe(401);
    expect((await agent.signIn('admin@example.com')).text).toContain('Wait 60 seconds');
    panel.clock.now += 61_000;
    expect((await agent.signIn('admin@example.com')).status).toBe(303);
  });

  it('throttles one client address across accounts', async () => {
    panel = createPanel();
    const agent = new Agent(panel.app);
    for (let i = 0; i < 20; i++) await agent.signIn(`user${i}@example.com`, 'wrong password');
    expect((await agent.signIn('someone-else@example.com', 'whatever')).status).toBe(429);
  });

  it('signs out: the session ends and its cookie no longer works', async () => {
    panel = createPanel();
    const agent = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    const id = agent.cookies.get('relay365_session')!;
    expect((await agent.post('/logout')).location).toBe('/login');
    const replay = new Agent(panel.app);
    replay.cookies.set('relay365_session', id);
    expect((await replay.get('/servers')).status).toBe(303);
  });
});

describe('first Super Admin', () => {
  it('is created from RELAY365_ADMIN_EMAIL and RELAY365_ADMIN_PASSWORD when no user exists', async () => {
    panel = createPanel({ env: { RELAY365_ADMIN_EMAIL: 'root@example.com', RELAY365_ADMIN_PASSWORD: 'from the environment' } });
    const { config, store } = panel.fx;
    expect(
      await bootstrapFirstAdmin({
        store,
        publicUrl: config.publicUrl,
        adminEmail: config.adminEmail,
        adminPassword: config.adminPassword,
        log: silentLogger,
      }),
    ).toBeNull();
    expect(store.sync.users.findByEmail('root@example.com')).toMatchObject({ isSuperAdmin: true });
    expect((await new Agent(panel.app).signIn('root@example.com', 'from the environment')).status).toBe(303);
  });

  it('comes from a one-time setup link printed at first start, usable once', async () => {
    panel = createPanel();
    const lines: string[] = [];
    const log = { ...silentLogger, warn: (m: string, f?: Record<string, unknown>) => lines.push(JSON.stringify({ m, ...f })) };
    const link = await bootstrapFirstAdmin({
      store: panel.fx.store,
      publicUrl: 'http://localhost:8025',
      adminEmail: null,
      adminPassword: null,
      log,
    });
    expect(link).toMatch(/^http:\/\/localhost:8025\/setup\/[A-Za-z0-9_-]{43}$/);
    expect(lines.join('\n')).toContain(link!);
    const path = new URL(link!).pathname;
    const token = path.split('/').pop()!;
    expect(JSON.stringify(panel.fx.store.db.prepare('SELECT * FROM setup_tokens').all())).not.toContain(token);

    const agent = new Agent(panel.app);
    expect((await agent.get(path)).status).toBe(200);
    const short = await agent.post(path, { email: 'first@example.com', password: 'short', confirm: 'short' });
    expect(short.status).toBe(422);
    expect(short.text).toContain('Use at least 12 characters.');
    const done = await agent.post(path, { email: 'first@example.com', password: PASSWORD, confirm: PASSWORD });
    expect(done.status).toBe(303);
    expect(panel.fx.store.sync.users.findByEmail('first@example.com')).toMatchObject({ isSuperAdmin: true });
    expect((await agent.get('/servers')).status).toBe(200);

    const again = new Agent(panel.app);
    expect((await again.get(path)).status).toBe(404);
    await again.get('/login');
    expect((await again.post(path, { email: 'second@example.com', password: PASSWORD, confirm: PASSWORD })).status).toBe(404);
    expect(panel.fx.store.sync.users.count()).toBe(1);
  });

  it('prints no setup link once a user exists', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    expect(
      await bootstrapFirstAdmin({
        store: panel.fx.store,
        publicUrl: 'http://localhost:8025',
        adminEmail: null,
        adminPassword: null,
        log: silentLogger,
      }),
    ).toBeNull();
  });
});

describe('sign-in floods', () => {
  const wrongPassword = (a: Answer) => a.status === 401 && a.text.includes('Email or password is not correct.');

  it('checks at most 5 passwords when 300 wrong sign-ins for one account arrive at once', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    await agent.get('/login');
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        postFrom(panel.app, agent, '203.0.113.10', '/login', { email: 'admin@example.com', password: `wrong ${i}` }),
      ),
    );
    const checked = answers.filter(wrongPassword).length;
    const waited = answers.filter((a) => a.status === 429 && /Too many (failed )?sign-ins/.test(a.text)).length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(5);
    expect(checked + waited).toBe(300);
  });

  it('lets an allowed SMTP client get its 250 while a sign-in flood is still being checked', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    harness = await startHarness();
    const agent = new Agent(panel.app);
    await agent.get('/login');

    // The client is inside DATA when the flood starts: only the spool's write and fsyncs stand between it and its 250.
    const smtp = await connectRaw(harness.smtpPort);
    expect(await smtp.command('EHLO erp.contoso.test')).toMatch(/^250/);
    expect(await smtp.command(`MAIL FROM:<${SEED.mailbox}>`)).toMatch(/^250 /);
    expect(await smtp.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
    expect(await smtp.command('DATA')).toMatch(/^354 /);
    smtp.write(testMessage('sent during a sign-in flood'));

    let checked = 0;
    const counted = (answer: Answer): Answer => {
      if (wrongPassword(answer)) checked += 1;
      return answer;
    };
    const oneAccount = Array.from({ length: 300 }, (_, i) =>
      postFrom(panel.app, agent, '203.0.113.10', '/login', { email: 'admin@example.com', password: `wrong ${i}` }).then(counted),
    );
    // Ten more addresses, each within its own limits, keep the password checks busy meanwhile.
    const others = Array.from({ length: 20 }, (_, i) =>
      postFrom(panel.app, agent, `203.0.113.${20 + (i % 10)}`, '/login', { email: `user${i}@example.com`, password: 'wrong' }).then(
        counted,
      ),
    );
    await waitFor(() => checked > 0, 'the first checked sign-in');
    smtp.write('.\r\n');
    const reply = await smtp.reply();
    const checkedBeforeReply = checked;
    const answers = await Promise.all(oneAccount);
    await Promise.all(others);
    smtp.close();

    expect(reply).toMatch(/^250 /);
    // Most of the flood's checks were still to come when the 250 arrived.
    expect(checkedBeforeReply).toBeLessThan(checked / 2);
    expect(answers.filter(wrongPassword).length).toBeLessThanOrEqual(5);
  });

  it('answers 503 with Retry-After while too many passwords are being checked, and does not count that as a failure', async () => {
    panel = createPanel();
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    await agent.get('/login');
    const filled = fillPasswordQueue();
    const res = await agent.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ _csrf: agent.csrf, email: 'admin@example.com', password: 'wrong' }).toString(),
    });
    await filled;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.text).toContain('relay365 is busy checking other sign-ins. Try again in a few seconds.');
    for (let i = 0; i < 4; i++) expect((await agent.signIn('admin@example.com', `wrong ${i}`)).status).toBe(401);
    expect((await agent.signIn('admin@example.com')).status).toBe(303);
  });
});
