/**
 * Microsoft Graph's refusals, seen from the Microsoft 365 emulator: Retry-After
 * pauses the mailbox exactly that long, a permission Graph refuses holds the
 * mail with its fix until an admin grants it, a refused token is retried once
 * with a fresh one, and what the message itself cannot do fails it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIME_REQUEST_LIMIT } from '../../src/relay/graph/graph-upstream.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const graph = { sendVia: 'graph' as const };
const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
const server = () => h.fx.store.sync.servers.get(h.serverId());
const app = () => h.emu.directory.findApp(SEED.tenantId, SEED.clientId)!;
const appTokens = () => h.emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials');

async function setup(options: HarnessOptions = {}): Promise<void> {
  // The emulator shares the relay's clock: Retry-After and request times are on one time line.
  h = await startHarness({ signingKey, sharedClock: { tickMs: 0 }, ...options, server: { ...graph, ...options.server } });
}

/** A message over the one-request limit: it goes through a draft. */
const large = (subject: string): string => testMessage(subject) + `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(MIME_REQUEST_LIMIT / 78));

describe('Microsoft Graph refusals', () => {
  it.each([429, 503])('sends nothing to the mailbox until a %i’s Retry-After has elapsed', async (code) => {
    await setup();
    h.emu.graph.failNext({ route: 'sendMail', status: code, retryAfterSeconds: 30 });
    const t0 = h.now();
    const first = await h.submit(testMessage('first'));
    const deferred = await waitFor(() => (status(first) === 'deferred' ? h.fx.store.sync.queue.get(first) : undefined), 'deferred');
    expect(deferred.nextAttemptAt).toBe(t0 + 30_000);
    const second = await h.submit(testMessage('second'));
    let waiting = '';
    const test = h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'test', body: 'Testing.' }, (why) => {
      waiting = why;
    });
    await waitFor(() => waiting || undefined, 'the test email told why it waits');
    expect(waiting).toBe(`Waiting for Microsoft paused this mailbox (daily quota or Retry-After) until ${new Date(t0 + 30_000).toISOString()}.`);
    await h.advance(29_999);
    expect(status(second)).toBe('queued');
    await h.advance(1);
    expect((await test).ok).toBe(true);
    await waitFor(() => status(first) === 'delivered' && status(second) === 'delivered', 'both delivered');
    const [refused, ...later] = h.emu.graph.requests;
    expect(refused).toMatchObject({ status: code, at: t0, retryAfterSeconds: 30 });
    expect(later).toHaveLength(3);
    expect(later.every((r) => r.mailbox === SEED.mailbox && r.at >= t0 + 30_000)).toBe(true);
  });

  it('holds mail while the app lacks Mail.Send, names the fix, and delivers once it is granted', async () => {
    await setup();
    app().graphApplicationPermissions = ['Mail.ReadWrite'];
    const id = await h.submit(testMessage('held'));
    await waitFor(() => status(id) === 'held', 'held');
    expect(server()).toMatchObject({ status: 'error', statusCode: 'ErrorAccessDenied' });
    expect(server()?.statusMessage).toBe('Microsoft Graph sendMail: 403 ErrorAccessDenied: Access is denied. Check credentials and try again.');
    expect(server()?.statusHint).toMatch(/Mail\.Send.*Test-ServicePrincipalAuthorization/);
    expect(h.emu.graph.messages).toHaveLength(0);

    // Admin consent for Mail.Send: only a new token carries the role.
    app().graphApplicationPermissions.push('Mail.Send');
    h.relay.settingsChanged();
    await h.emu.graph.waitForMessages(1, 10_000);
    await waitFor(() => status(id) === 'delivered', 'delivered after the fix');
    expect(server()?.status).toBe('authorized');
    expect(appTokens()).toHaveLength(2);
  });

  it('holds a large message while the app lacks Mail.ReadWrite for its draft, and sends it once granted', async () => {
    await setup();
    app().graphApplicationPermissions = ['Mail.Send'];
    const id = await h.submit(large('big report'));
    await waitFor(() => status(id) === 'held', 'held');
    expect(server()?.statusMessage).toMatch(/^Microsoft Graph createDraft: 403 ErrorAccessDenied/);
    expect(server()?.statusHint).toMatch(/Mail\.ReadWrite/);
    app().graphApplicationPermissions.push('Mail.ReadWrite');
    h.relay.settingsChanged();
    const [m] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(m).toMatchObject({ via: 'draft', subject: 'big report' });
    await waitFor(() => status(id) === 'delivered', 'delivered after the fix');
  });

  it('retries a refused token once with a fresh one', async () => {
    await setup();
    h.emu.graph.failNext({ route: 'sendMail', status: 401 });
    const id = await h.submit(testMessage('retried'));
    await h.emu.graph.waitForMessages(1, 10_000);
    await waitFor(() => status(id) === 'delivered', 'delivered');
    expect(h.emu.graph.requests.map((r) => r.status)).toEqual([401, 202]);
    expect(appTokens()).toHaveLength(2);
  });

  it('holds mail when Graph refuses the fresh token too, after exactly one retry', async () => {
    await setup();
    h.emu.graph.failNext({ route: 'sendMail', status: 401, count: 2 });
    const id = await h.submit(testMessage('refused'));
    await waitFor(() => status(id) === 'held', 'held');
    expect(h.emu.graph.requests.map((r) => r.status)).toEqual([401, 401]);
    expect(server()).toMatchObject({ statusCode: 'InvalidAuthenticationToken' });
    expect(server()?.statusHint).toMatch(/Graph Endpoint/);
  });

  it('fails a message whose From the mailbox may not send as, with the rewrite fix, and keeps the server working', async () => {
    await setup();
    const raw = testMessage('not mine').replace(`From: Relay <${SEED.mailbox}>`, 'From: boss@fabrikam.test');
    const id = await h.submit(raw);
    await waitFor(() => status(id) === 'failed', 'failed');
    const [recipient] = h.fx.store.sync.queue.recipients(id);
    expect(recipient?.reply).toMatch(/^Microsoft Graph sendMail: 403 ErrorSendAsDenied: /);
    expect(server()?.status).not.toBe('error');
    const result = await h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'still works', body: 'Testing.' });
    expect(result.ok).toBe(true);
  });

  it('fails the recipients of a message Graph refuses for its recipients', async () => {
    await setup();
    h.emu.graph.failNext({ route: 'sendMail', status: 400, code: 'ErrorInvalidRecipients', message: 'At least one recipient is not valid.' });
    const id = await h.submit(testMessage('bad recipient'), ['alice@fabrikam.test', 'bob@fabrikam.test']);
    await waitFor(() => status(id) === 'failed', 'failed');
    expect(h.fx.store.sync.queue.recipients(id).map((r) => r.status)).toEqual(['failed', 'failed']);
  });
});
