/**
 * The panel's start-up lines: the address browsers should open follows
 * RELAY365_ADMIN_LISTEN unless RELAY365_PUBLIC_URL says otherwise, and a URL
 * naming another port than the panel listens on is warned about.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publicUrlWarning, startAdmin } from '../../src/admin/server.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { freePort } from '../helpers/relay-process.js';
import { fakeRelay } from './panel.js';

let fx: Fixture | undefined;
afterEach(() => fx?.cleanup());

/** Starts the panel with `env` on a free port; resolves with the log lines it wrote. */
async function startWith(env: (port: number) => Record<string, string>): Promise<{ port: number; lines: Record<string, unknown>[] }> {
  const port = await freePort();
  fx = createFixture({
    RELAY365_ADMIN_LISTEN: `127.0.0.1:${port}`,
    RELAY365_ADMIN_EMAIL: 'admin@example.com',
    RELAY365_ADMIN_PASSWORD: 'correct horse battery staple',
    ...env(port),
  });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const admin = await startAdmin({ config: fx.config, store: fx.store, relay: fakeRelay(), log });
  await admin.close();
  return { port, lines };
}

describe('admin panel start-up', () => {
  it('says to open the moved admin port when only RELAY365_ADMIN_LISTEN changed, without a warning', async () => {
    const { port, lines } = await startWith(() => ({}));
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ msg: `admin panel listening: open http://localhost:${port}`, url: `http://localhost:${port}` });
  });

  it('warns, naming both variables and values, when RELAY365_PUBLIC_URL names another port than the panel listens on', async () => {
    const { port, lines } = await startWith(() => ({ RELAY365_PUBLIC_URL: 'http://localhost:8025' }));
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      expect.objectContaining({
        msg:
          `RELAY365_PUBLIC_URL=http://localhost:8025 names port 8025, but RELAY365_ADMIN_LISTEN=127.0.0.1:${port} listens on port ${port}: ` +
          'browsers, the setup link and the Office 365 Redirect URI use the URL. Correct RELAY365_PUBLIC_URL or leave it unset; ' +
          'if a reverse proxy serves the panel on port 8025, name it in RELAY365_TRUSTED_PROXIES.',
      }),
    ]);
  });

  it.each([
    [{ RELAY365_ADMIN_LISTEN: '127.0.0.1:9025', RELAY365_PUBLIC_URL: 'http://localhost:9025' }, false],
    [{ RELAY365_ADMIN_LISTEN: '0.0.0.0:80', RELAY365_PUBLIC_URL: 'http://relay.contoso.test' }, false],
    [{ RELAY365_ADMIN_LISTEN: '0.0.0.0:8025', RELAY365_PUBLIC_URL: 'http://relay.contoso.test' }, true],
    // relay365 speaks plain http: an https URL is a reverse proxy's.
    [{ RELAY365_ADMIN_LISTEN: '127.0.0.1:8025', RELAY365_PUBLIC_URL: 'https://relay.contoso.test' }, false],
    [
      {
        RELAY365_ADMIN_LISTEN: '127.0.0.1:8025',
        RELAY365_PUBLIC_URL: 'http://relay.contoso.test:8080',
        RELAY365_TRUSTED_PROXIES: '10.0.0.5',
      },
      false,
    ],
    [{ RELAY365_ADMIN_LISTEN: '127.0.0.1:8025', RELAY365_PUBLIC_URL: 'http://localhost:9025' }, true],
    // Port 0 is known only once bound.
    [{ RELAY365_ADMIN_LISTEN: '127.0.0.1:0', RELAY365_PUBLIC_URL: 'http://localhost:8025' }, false],
  ])('with %o warns: %s', (env, warns) => {
    expect(publicUrlWarning(loadConfig(env)) !== null).toBe(warns);
  });
});
