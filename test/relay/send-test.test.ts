/**
 * Send Test Email as work in its mailbox's lane, seen from the Microsoft 365
 * emulator: it waits for the lane like any mail, goes before the mail queued
 * ahead of it, and runs alone on a connection of its own.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
const subjects = () => h.emu.exchange.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.toString('utf8'))?.[1]?.trim());

describe('Send Test Email in the lane', () => {
  it('waits for the connection in use, then goes before the mail queued ahead of it, alone at the mailbox', async () => {
    h = await startHarness({ signingKey, server: { maxConnections: 1 } });
    // A 20 MB message holds the one connection while the rest is queued.
    const big = await h.enqueue(h.serverId(), testMessage('big') + `${'x'.repeat(76)}\r\n`.repeat(260_000));
    await waitFor(() => status(big) === 'sending', 'the big message on its way');
    const queued = [await h.enqueue(h.serverId(), testMessage('queued 1')), await h.enqueue(h.serverId(), testMessage('queued 2'))];
    const result = await h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'the test', body: 'Testing.' });
    expect(result).toMatchObject({ ok: true, waited: 'Waited for Max Connections: other mail is being delivered.' });
    await waitFor(() => queued.every((id) => status(id) === 'delivered'), 'the queued mail delivered');
    expect(subjects()).toEqual(['big', 'the test', 'queued 1', 'queued 2']);
    expect(h.emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBe(1);
  });
});
