import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plainServer } from '../helpers/fixture.js';
import { startFakeEntra, type FakeEntra } from './fake-entra.js';
import { createPanel, PASSWORD, signedIn, type Agent, type Panel } from './panel.js';

let panel: Panel;
let entra: FakeEntra;
afterEach(async () => {
  panel?.cleanup();
  await entra?.close();
});

const CLIENT_SECRET = 'Rly8Q~never.Shown.Secret.0123456789';
const SMTP_PASSWORD = 'smtp-password-never-shown';
const RELAY_PASSWORD = 'relay-user-password-never-shown';

/** Follows every same-site link from the main pages, GETting each page once. */
async function crawl(agent: Agent, atLeast: number): Promise<string[]> {
  const seen = new Set<string>();
  const queue = ['/servers', '/log', '/users', '/relay-users', '/networks'];
  const bodies: string[] = [];
  while (queue.length) {
    const path = queue.shift()!;
    if (seen.has(path) || path.startsWith('/log/events') || seen.size > 200) continue;
    seen.add(path);
    const page = await agent.get(path);
    bodies.push(page.text);
    for (const [, href] of page.text.matchAll(/href="(\/[^"#]*)"/g)) if (!seen.has(href!)) queue.push(href!.replace(/&amp;/g, '&'));
  }
  expect(seen.size, [...seen].join(' ')).toBeGreaterThanOrEqual(atLeast);
  return bodies;
}

describe('secrets', () => {
  it('never puts the client secret, passwords, tokens or session ids in a response body or log line', async () => {
    entra = await startFakeEntra();
    panel = createPanel();
    const admin = await signedIn(panel, 'admin@example.com', { superAdmin: true });
    await admin.post('/servers', { name: 'o365', method: 'office365' });
    await admin.post('/servers/1/edit/tenant-id', { tenantId: 'contoso.test' });
    await admin.post('/servers/1/edit/client-id', { clientId: '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94' });
    await admin.post('/servers/1/edit/client-secret', { clientSecret: CLIENT_SECRET });
    await admin.post('/servers/1/edit/client-secret', { clientSecret: `${CLIENT_SECRET}\r\nbroken` });
    await admin.post('/servers/1/edit/cloud', {
      cloud: 'custom',
      authorityHost: entra.authorityHost,
      smtpResource: 'https://outlook.office.com',
    });
    panel.fx.store.sync.servers.add(plainServer({ name: 'smarthost', method: 'password', username: 'relay', password: SMTP_PASSWORD }));
    await admin.post('/servers/2/edit/password', { password: SMTP_PASSWORD });

    // Authorize, so the token cache holds an access and a refresh token.
    await admin.get('/servers/1');
    const url = new URL((await admin.post('/servers/1/authorize')).location!);
    await admin.get(`/oauth/office365/callback?code=the-code&state=${url.searchParams.get('state')}`);
    const cache = panel.fx.store.sync.tokenCaches.load(1)!;
    const accessToken = /"secret":"(at-[^"]+)"/.exec(cache)?.[1];
    const refreshToken = /"secret":"(rt-[^"]+)"/.exec(cache)?.[1];
    expect(accessToken).toBeDefined();
    expect(refreshToken).toBeDefined();
    const verifier = entra.tokenRequests[0]!['code_verifier']!;

    // A failed token request, whose error must not echo anything either.
    const state2 = new URL((await admin.post('/servers/1/authorize')).location!).searchParams.get('state')!;
    entra.failNext(7000215, 'invalid_client', 'Invalid client secret provided.');
    await admin.get(`/oauth/office365/callback?code=c2&state=${state2}`);

    await admin.post('/users', { email: 'viewer@example.com', password: 'viewer password 123' });
    // Relay users: one with a chosen password, one generated (shown once only), a failed login that locked a client out.
    await admin.post('/relay-users', { name: 'erp', serverId: '1', password: RELAY_PASSWORD, allowFrom: '' });
    await admin.get((await admin.post('/relay-users', { name: 'scanner', serverId: '2', password: '' })).location!);
    const generated = /id="one-time-password"[^>]*value="([^"]+)"/.exec(admin.bodies.at(-1)!)?.[1];
    expect(generated).toBeDefined();
    for (let i = 0; i < 5; i++) panel.fx.store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', panel.clock.now);
    await admin.post('/networks', { cidr: '10.1.0.0/16', serverId: '1' });
    const viewer = await signedIn(panel, 'viewer2@example.com');
    const secrets = [
      CLIENT_SECRET,
      SMTP_PASSWORD,
      RELAY_PASSWORD,
      accessToken!,
      refreshToken!,
      verifier,
      PASSWORD,
      'viewer password 123',
      admin.cookies.get('relay365_session')!,
      viewer.cookies.get('relay365_session')!,
    ];

    const bodies = [...admin.bodies, ...(await crawl(admin, 30)), ...viewer.bodies, ...(await crawl(viewer, 9))];
    for (const body of bodies) for (const secret of secrets) expect(body).not.toContain(secret);
    // The generated relay password: on the one page right after adding it, nowhere else.
    expect(bodies.filter((body) => body.includes(generated!))).toHaveLength(1);
    for (const page of ['/relay-users', '/networks', '/relay-users/1', '/relay-users/2']) {
      expect(
        bodies.some((body) => body.includes(`href="${page}"`)),
        page,
      ).toBe(true);
    }
    for (const body of [...viewer.bodies]) expect(body).not.toContain(admin.csrf);
    const log = panel.logLines.join('\n');
    for (const secret of [...secrets, generated!]) expect(log).not.toContain(secret);
    const file = join(panel.fx.dir, 'relay365.db');
    const database = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));
    for (const secret of [RELAY_PASSWORD, generated!]) expect(database.includes(secret)).toBe(false);
  });
});
