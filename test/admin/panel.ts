/**
 * Drives the admin app through `app.request()` like a browser: a cookie jar,
 * the CSRF token read from the last page, sign-in helpers, and a fake relay
 * recording what the panel asked of it.
 */
import { vi } from 'vitest';
import type { Hono } from 'hono';
import { createAdminApp } from '../../src/admin/app.js';
import { addUser } from '../../src/admin/accounts.js';
import type { AdminEnv, AdminRelay, ListenerInfo, TestSendResult } from '../../src/admin/env.js';
import type { AuthCodeClient } from '../../src/auth/authorize.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { EmailServer } from '../../src/store/servers.js';
import type { User } from '../../src/store/users.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';

export const PASSWORD = 'correct horse battery staple';

export interface FakeRelay extends AdminRelay {
  sendTest: ReturnType<typeof vi.fn<AdminRelay['sendTest']>>;
  retryNow: ReturnType<typeof vi.fn<AdminRelay['retryNow']>>;
  deleteMessage: ReturnType<typeof vi.fn<AdminRelay['deleteMessage']>>;
  settingsChanged: ReturnType<typeof vi.fn<AdminRelay['settingsChanged']>>;
  listenerInfo: ReturnType<typeof vi.fn<AdminRelay['listenerInfo']>>;
}

/** What a started listener reports by default: loopback, the generated certificate, the default settings. */
export const LISTENER_INFO: ListenerInfo = {
  smtp: '127.0.0.1:2525',
  smtps: null,
  certificate: {
    generated: true,
    fingerprint256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
    subject: 'CN=relay.contoso.test',
    validTo: 'Jan  1 00:00:00 2035 GMT',
  },
  allowPlaintextAuth: false,
  tlsMinVersion: 'TLSv1.2',
  relayNetworks: ['127.0.0.0/8', '::1/128'],
  maxConnectionsPerClient: 50,
  maxConnections: 1000,
  proxyProtocol: false,
};

export function fakeRelay(result?: TestSendResult): FakeRelay {
  return {
    sendTest: vi.fn<AdminRelay['sendTest']>(
      async () =>
        result ?? {
          ok: true,
          reply: '250 2.0.0 OK',
          transcript: ['S: 220 ready', 'C: AUTH XOAUTH2 (hidden)', 'S: 235 2.7.0 Authentication successful'],
          hint: null,
          messageId: 'TEST1',
        },
    ),
    retryNow: vi.fn<AdminRelay['retryNow']>(async () => true),
    deleteMessage: vi.fn<AdminRelay['deleteMessage']>(async () => true),
    settingsChanged: vi.fn<AdminRelay['settingsChanged']>(() => undefined),
    listenerInfo: vi.fn<AdminRelay['listenerInfo']>(() => LISTENER_INFO),
  };
}

export interface Panel {
  fx: Fixture;
  app: Hono<AdminEnv>;
  relay: FakeRelay;
  clock: { now: number };
  logLines: string[];
  cleanup(): void;
}

export interface PanelOptions {
  env?: Record<string, string>;
  authCodeClient?: (server: EmailServer, secret: string) => AuthCodeClient;
  relay?: FakeRelay;
}

/** A fresh store and panel; the clock starts at the real time and only moves when a test moves it. */
export function createPanel(options: PanelOptions = {}): Panel {
  const fx = createFixture({ RELAY365_PUBLIC_URL: 'http://localhost:8025', ...options.env });
  const clock = { now: Date.now() };
  const logLines: string[] = [];
  const log: Logger = {
    debug: (m, f) => logLines.push(JSON.stringify({ m, ...f })),
    info: (m, f) => logLines.push(JSON.stringify({ m, ...f })),
    warn: (m, f) => logLines.push(JSON.stringify({ m, ...f })),
    error: (m, f) => logLines.push(JSON.stringify({ m, ...f })),
    child: () => log,
  };
  void silentLogger;
  const relay = options.relay ?? fakeRelay();
  const app = createAdminApp(
    { config: fx.config, store: fx.store, relay, log, now: () => clock.now, authCodeClient: options.authCodeClient },
    { tailPollMs: 10 },
  );
  return { fx, app, relay, clock, logLines, cleanup: () => fx.cleanup() };
}

export async function createUser(
  panel: Panel,
  email: string,
  perms: { superAdmin?: boolean; updateSettings?: boolean } = {},
): Promise<User> {
  return addUser(panel.fx.store, {
    email,
    password: PASSWORD,
    isSuperAdmin: perms.superAdmin ?? false,
    canUpdateSettings: perms.updateSettings ?? false,
  });
}

export interface Page {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/** A browser: keeps cookies, remembers the last CSRF token it saw. */
export class Agent {
  readonly cookies = new Map<string, string>();
  csrf = '';
  bodies: string[] = [];

  constructor(private readonly app: Hono<AdminEnv>) {}

  async request(path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.app.request(path, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0$/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? '' : await res.text();
    this.bodies.push(text);
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  get(path: string): Promise<Page> {
    return this.request(path);
  }

  /** Posts a form; the CSRF token is added unless `csrf: false` or `_csrf` is given. */
  post(
    path: string,
    fields: Record<string, string> = {},
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const body = new URLSearchParams(options.csrf === false || '_csrf' in fields ? fields : { _csrf: this.csrf, ...fields });
    return this.request(path, {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
    });
  }

  /** Signs in (fetching the login page first for its CSRF token). */
  async signIn(email: string, password = PASSWORD): Promise<Page> {
    await this.get('/login');
    return this.post('/login', { email, password });
  }
}

/** A signed-in agent for a new user with the given permissions. */
export async function signedIn(
  panel: Panel,
  email: string,
  perms: { superAdmin?: boolean; updateSettings?: boolean } = {},
): Promise<Agent> {
  await createUser(panel, email, perms);
  const agent = new Agent(panel.app);
  const res = await agent.signIn(email);
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status} ${res.text.slice(0, 200)}`);
  await agent.get('/servers');
  return agent;
}

/** Text of a page without tags, whitespace collapsed (for label checks). */
export function visibleText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
}
