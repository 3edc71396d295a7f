/**
 * Authorize Account tokens in the relay: a server authorized at the emulator
 * delivers as the signed-in account, keeps its refresh token in use while
 * idle, and turns Not Authorized (holding mail) once the grant is revoked.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEEPALIVE_MS } from '../../src/relay/scheduler.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const refreshes = () => h.emu.identity.tokenRequests.filter((r) => r.grant_type === 'refresh_token');

describe('Authorize Account in the relay', () => {
  it('delivers as the signed-in account, refreshes daily while idle, and holds mail once the grant is revoked', async () => {
    h = await startHarness({
      signingKey,
      server: { signInMode: 'authorize', smtpResource: 'https://outlook.office.com', mailbox: SEED.mailbox },
    });
    await h.authorizeAccount();

    const first = await h.submit(testMessage('delegated'));
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received).toMatchObject({ user: SEED.mailbox, tokenKind: 'delegated' });
    await waitFor(() => h.fx.store.sync.queue.get(first)?.status === 'delivered', 'delivered');

    const before = refreshes().length;
    await h.advance(KEEPALIVE_MS + 1_000);
    // The refresh is done once the server shows it (the test's clock stands still meanwhile).
    await waitFor(() => h.fx.store.sync.servers.get(h.serverId())?.tokenRefreshedAt === h.now(), 'a keep-alive refresh');
    expect(refreshes().length).toBe(before + 1);
    expect(refreshes().at(-1)).toMatchObject({ ok: true });

    h.emu.identity.revokeRefreshTokens(SEED.mailbox);
    await h.advance(KEEPALIVE_MS + 1_000);
    await waitFor(() => h.fx.store.sync.servers.get(h.serverId())?.status === 'not_authorized', 'Not Authorized');
    expect(h.fx.store.sync.servers.get(h.serverId())).toMatchObject({
      statusCode: 'AADSTS50173',
      statusHint: expect.stringMatching(/Authorize Account again/),
    });
    const held = await h.submit(testMessage('after revocation'));
    await waitFor(() => h.fx.store.sync.queue.get(held)?.status === 'held', 'held');

    await h.authorizeAccount();
    await h.emu.exchange.waitForMessages(2, 10_000);
    await waitFor(() => h.fx.store.sync.queue.get(held)?.status === 'delivered', 'delivered after authorizing again');
  });

  it('logs an alert and keeps running when the keep-alive cannot record its refresh', async () => {
    h = await startHarness({
      signingKey,
      server: { signInMode: 'authorize', smtpResource: 'https://outlook.office.com', mailbox: SEED.mailbox },
      captureLog: true,
    });
    await h.authorizeAccount();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      vi.spyOn(h.fx.store.servers, 'setStatus').mockImplementation(() => {
        throw new Error('SQLITE_BUSY: database is locked');
      });
      const before = refreshes().length;
      await h.advance(KEEPALIVE_MS + 1_000);
      await waitFor(() => h.logLines.some((l) => l.includes('cannot record a token refresh')), 'the alert');
      expect(refreshes().length).toBe(before + 1);
      vi.mocked(h.fx.store.servers.setStatus).mockRestore();
      const id = await h.submit(testMessage('still delivering'));
      await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered');
      expect(unhandled).toEqual([]);
      expect(JSON.parse(h.logLines.find((l) => l.includes('cannot record a token refresh')) as string)).toMatchObject({ alert: true });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
