import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientAddress } from '../../src/admin/client-address.js';
import type { AdminEnv } from '../../src/admin/env.js';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { newToken } from './api/api-client.js';
import { Agent, createPanel, createUser, type Panel } from './panel.js';
import { peer, postFrom } from './peer.js';

const PROXY = '10.0.0.2';

/** What the reader answers for one request from `remote` (no socket when undefined) with `forwarded` as X-Forwarded-For. */
async function clientOf(trusted: string[], remote: string | undefined, forwarded?: string): Promise<string> {
  const app = new Hono<AdminEnv>();
  const read = createClientAddress(trusted.map((text) => parseCidr(text) as Cidr));
  app.get('/', (c) => c.text(read(c)));
  const headers: Record<string, string> = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
  const res = await app.request('/', { headers }, remote === undefined ? undefined : peer(remote));
  return res.text();
}

describe('client address', () => {
  it.each([
    ['no trusted proxies: the socket peer', [], '203.0.113.5', '198.51.100.1', '203.0.113.5'],
    ['a peer outside the trusted proxies: its header is ignored', ['10.0.0.0/8'], '203.0.113.5', '198.51.100.1', '203.0.113.5'],
    ['a trusted proxy: the address it appended', ['10.0.0.0/8'], PROXY, '198.51.100.1', '198.51.100.1'],
    ['what the client wrote itself, left of it, is passed over', ['10.0.0.0/8'], PROXY, '192.0.2.66, 198.51.100.1', '198.51.100.1'],
    ['a chain of trusted proxies is walked through', ['10.0.0.0/8'], PROXY, '198.51.100.1, 10.0.0.3', '198.51.100.1'],
    ['an IPv4-mapped peer is its IPv4 address', ['10.0.0.0/8'], `::ffff:${PROXY}`, '198.51.100.1', '198.51.100.1'],
    ['an IPv4 entry with a port', ['10.0.0.0/8'], PROXY, '198.51.100.1:5050', '198.51.100.1'],
    ['an IPv6 entry in brackets with a port', ['10.0.0.0/8'], PROXY, '[2001:db8::7]:443', '2001:db8::7'],
    ['an IPv6 proxy', ['fd00::/8'], 'fd00::1', '2001:db8::7', '2001:db8::7'],
    ['garbage ends the chain at the nearest good address', ['10.0.0.0/8'], PROXY, '198.51.100.1, not-an-address', PROXY],
    ['a trusted proxy that sent no header', ['10.0.0.0/8'], PROXY, undefined, PROXY],
    ['only trusted proxies in the header: the furthest one', ['10.0.0.0/8'], PROXY, '10.0.0.9', '10.0.0.9'],
  ])('%s', async (_what, trusted, remote, forwarded, expected) => {
    expect(await clientOf(trusted, remote, forwarded)).toBe(expected);
  });

  it('is unknown without a socket', async () => {
    expect(await clientOf(['10.0.0.0/8'], undefined, '198.51.100.1')).toBe('unknown');
  });
});

describe('throttles behind a reverse proxy', () => {
  let panel: Panel;
  afterEach(() => panel.cleanup());

  /** An API call through the proxy at `remote` for the client `forwarded`. */
  const apiFrom = async (token: string, remote: string, forwarded: string): Promise<number> =>
    (
      await panel.app.request(
        '/api/v1/servers',
        { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwarded } },
        peer(remote),
      )
    ).status;

  it('keeps one bucket per client when the proxy is trusted', async () => {
    panel = createPanel({ env: { RELAY365_TRUSTED_PROXIES: '10.0.0.0/8' } });
    const token = newToken(panel.fx.store, 'read');
    for (let i = 0; i < 10; i++) expect(await apiFrom('r365_wrong', PROXY, '198.51.100.1')).toBe(401);
    expect(await apiFrom(token, PROXY, '198.51.100.1')).toBe(429);
    expect(await apiFrom(token, PROXY, '198.51.100.2')).toBe(200);
    // The client cannot step out of its bucket by writing its own header: the proxy appends the real address.
    expect(await apiFrom(token, PROXY, '198.51.100.2, 198.51.100.1')).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    panel = createPanel({ env: { RELAY365_TRUSTED_PROXIES: '10.9.0.0/16' } });
    const token = newToken(panel.fx.store, 'read');
    for (let i = 0; i < 10; i++) expect(await apiFrom('r365_wrong', PROXY, `198.51.100.${i + 1}`)).toBe(401);
    expect(await apiFrom(token, PROXY, '198.51.100.200')).toBe(429);
  });

  it('logs a failed panel sign-in with the forwarded client address only from a trusted proxy', async () => {
    panel = createPanel({ env: { RELAY365_TRUSTED_PROXIES: '10.0.0.0/8' } });
    await createUser(panel, 'admin@example.com', { superAdmin: true });
    const agent = new Agent(panel.app);
    await agent.get('/login');
    const wrong = { email: 'admin@example.com', password: 'wrong' };
    expect((await postFrom(panel.app, agent, PROXY, '/login', wrong, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(401);
    expect((await postFrom(panel.app, agent, '203.0.113.5', '/login', wrong, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(401);
    const failures = panel.logLines
      .map((line) => JSON.parse(line) as { m: string; address?: string })
      .filter((l) => l.m === 'admin sign-in failed');
    expect(failures.map((l) => l.address)).toEqual(['198.51.100.1', '203.0.113.5']);
  });
});
