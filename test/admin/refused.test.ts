import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createRefusals, REFUSAL_HINTS, type Refusal } from '../../src/relay/refusals.js';
import { Agent, createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

const T0 = Date.parse('2030-05-01T10:00:00Z');
const TLS_HINT = 'The printer offered TLSv1 only: set RELAY365_TLS_MIN_VERSION=TLSv1, or update its firmware.';

/** Records refusals as the relay does, each `minutes` after T0. */
async function record(p: Panel, refusals: [number, Refusal][]): Promise<void> {
  const clock = { now: T0 };
  const recorder = createRefusals({ store: p.fx.store, log: silentLogger, now: () => clock.now });
  for (const [minutes, refusal] of refusals) {
    clock.now = T0 + minutes * 60_000;
    recorder.record(refusal);
    await recorder.flush();
  }
}

async function seed(p: Panel): Promise<void> {
  await record(p, [
    [0, { reason: 'tls_failed', client: '192.168.10.7', detail: 'TLS handshake failed: offered TLSv1, required TLSv1.2', hint: TLS_HINT }],
    [1, { reason: 'relay_denied', client: '203.0.113.50', detail: '550 5.7.1 Relaying denied' }],
    [1.5, { reason: 'relay_denied', client: '203.0.113.50', detail: '550 5.7.1 Relaying denied' }],
    [2, { reason: 'too_big', client: '192.168.10.70', detail: '552 5.3.4 Message size exceeds 26214400 bytes (41943040 bytes sent)' }],
    [3, { reason: 'auth_failed', client: '192.168.11.9', detail: '535 5.7.8 Authentication failed', username: 'scanner-7' }],
  ]);
}

/** The client column of the page's table, top to bottom. */
const clients = (html: string): string[] => [...html.matchAll(/<td class="client"[^>]*><a [^>]*>([^<]+)<\/a>/g)].map((m) => m[1] as string);

describe('the Refused page', () => {
  it('shows every refusal to any signed-in user, most recently seen first, with time, client, reason, detail, count and fix', async () => {
    panel = createPanel();
    await seed(panel);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const page = await agent.get('/refused');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a href="/refused">Refused</a>');
    expect(clients(page.text)).toEqual(['192.168.11.9', '192.168.10.70', '203.0.113.50', '192.168.10.7']);
    const text = visibleText(page.text);
    expect(text).toContain(
      '2030-05-01 10:03:00 UTC 192.168.11.9 Login failed 535 5.7.8 Authentication failed username scanner-7 1 ' + REFUSAL_HINTS.auth_failed,
    );
    expect(text).toContain(
      '2030-05-01 10:01:30 UTC since 2030-05-01 10:01:00 UTC 203.0.113.50 Relaying denied 550 5.7.1 Relaying denied 2',
    );
    expect(text).toContain(`192.168.10.7 TLS handshake failed TLS handshake failed: offered TLSv1, required TLSv1.2 1 ${TLS_HINT}`);
    expect(text).toContain('Refusals are kept 30 days after they were last seen (RELAY365_RETENTION_DAYS)');
  });

  it('filters by the start of the client address and by reason', async () => {
    panel = createPanel();
    await seed(panel);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    expect(clients((await agent.get('/refused?client=192.168.10.')).text)).toEqual(['192.168.10.70', '192.168.10.7']);
    expect(clients((await agent.get('/refused?client=192.168.10.7')).text)).toEqual(['192.168.10.70', '192.168.10.7']);
    expect(clients((await agent.get('/refused?reason=too_big')).text)).toEqual(['192.168.10.70']);
    const both = await agent.get('/refused?client=192.168.&reason=tls_failed');
    expect(clients(both.text)).toEqual(['192.168.10.7']);
    // The form shows the filter it applied.
    expect(both.text).toMatch(/<input name="client" value="192\.168\."/);
    expect(both.text).toMatch(/<option value="tls_failed" selected="">TLS handshake failed<\/option>/);
    expect(visibleText((await agent.get('/refused?client=10.9.')).text)).toContain('No refusals match.');
    // An unknown reason is no filter at all.
    expect(clients((await agent.get('/refused?reason=nonsense')).text)).toHaveLength(4);
  });

  it('shows a page at a time with an Older link, and Newest back', async () => {
    panel = createPanel();
    await record(
      panel,
      Array.from({ length: 250 }, (_, i): [number, Refusal] => [
        i,
        { reason: 'relay_denied', client: `198.51.100.${i}`, detail: '550 5.7.1' },
      ]),
    );
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const seen: string[] = [];
    let path: string | undefined = '/refused?reason=relay_denied';
    for (let pages = 0; path && pages < 5; pages++) {
      const page = await agent.get(path);
      expect(page.status).toBe(200);
      seen.push(...clients(page.text));
      if (pages > 0) expect(page.text).toContain('<a href="/refused?reason=relay_denied">Newest</a>');
      path = /<a href="([^"]+)">Older<\/a>/.exec(page.text)?.[1]?.replace(/&amp;/g, '&');
    }
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => `198.51.100.${249 - i}`));
  });

  it('says so when the page link is not valid, and shows the newest', async () => {
    panel = createPanel();
    await seed(panel);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const page = await agent.get('/refused?cursor=not-a-cursor');
    expect(page.status).toBe(200);
    expect(visibleText(page.text)).toContain('This page link is not valid any more; the newest refusals are shown.');
    expect(clients(page.text)).toHaveLength(4);
  });

  it('shows a client’s own words as text, never as markup', async () => {
    panel = createPanel();
    await record(panel, [
      [0, { reason: 'auth_failed', client: '192.0.2.1', detail: '535 <script>alert(1)</script>', username: '<b>x</b>' }],
    ]);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const page = await agent.get('/refused');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('<b>x</b>');
    expect(page.text).toContain('535 &lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('is only for signed-in users', async () => {
    panel = createPanel();
    await seed(panel);
    const page = await new Agent(panel.app).get('/refused');
    expect(page.status).toBe(303);
    expect(page.location).toMatch(/^\/login/);
    expect(page.text).not.toContain('192.168.10.7');
  });
});
