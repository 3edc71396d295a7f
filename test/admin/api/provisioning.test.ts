import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAdmin, type AdminServer } from '../../../src/admin/server.js';
import { silentLogger } from '../../../src/log.js';
import { createOperations } from '../../../src/ops/index.js';
import { createMetrics } from '../../../src/metrics.js';
import { createRelay, type Relay } from '../../../src/relay/index.js';
import { createSigningKey, SEED, startEmulator, type Emulator, type SigningKey } from '../../emulator/index.js';
import { createFixture, type Fixture } from '../../helpers/fixture.js';
import { emulatorServer } from '../../helpers/office365.js';
import { newToken } from './api-client.js';

let signingKey: SigningKey;
let emu: Emulator;
let fx: Fixture;
let relay: Relay;
let admin: AdminServer;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(async () => {
  await admin?.close();
  await relay?.stop();
  await emu?.close();
  fx?.cleanup();
});

const RAW = `From: Relay <${SEED.mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: provisioned\r\n\r\nsent through the API's setup\r\n`;

describe('provisioning over HTTP with an API token only', () => {
  it('creates a server, a relay user and a network; mail from both is delivered at Microsoft 365 and every read route answers', async () => {
    emu = await startEmulator({ signingKey });
    // No network may relay until the API says so.
    fx = createFixture({ RELAY365_RELAY_NETWORKS: '' });
    relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, pollMs: 50 });
    const smtpPort = (await relay.start()).smtp.port;
    // Wired as main.ts does, so that GET /health answers too.
    const metrics = createMetrics({ version: '0.0.0-test', nodeVersion: process.version, instanceId: 'relay-test' });
    const ops = createOperations({ config: fx.config, store: fx.store, relay, metrics, freeSpace: async () => 10e9 });
    admin = await startAdmin({ config: fx.config, store: fx.store, relay, log: silentLogger, ops });
    const base = `http://127.0.0.1:${admin.address.port}/api/v1`;
    const token = newToken(fx.store, 'write', 'provisioning');
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { id: number } };
    };

    const { status, body: server } = await call('POST', '/servers', emulatorServer(emu, { name: 'office365' }));
    expect(status).toBe(201);
    const user = await call('POST', '/relay-users', { name: 'scanner', serverId: server.id });
    expect(user.status).toBe(201);
    const password = user.body.password as string;
    expect((await call('POST', '/networks', { cidr: '127.0.0.7/32', serverId: server.id })).status).toBe(201);

    const byLogin = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      localAddress: '127.0.0.5',
      requireTLS: true,
      tls: { servername: 'localhost' },
      auth: { user: 'scanner', pass: password },
    });
    const byNetwork = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, localAddress: '127.0.0.7', ignoreTLS: true });
    const outsider = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, localAddress: '127.0.0.9', ignoreTLS: true });
    const envelope = { from: SEED.mailbox, to: ['alice@fabrikam.test'] };
    await byLogin.sendMail({ envelope, raw: RAW });
    await byNetwork.sendMail({ envelope, raw: RAW });
    await expect(outsider.sendMail({ envelope, raw: RAW })).rejects.toMatchObject({ responseCode: 530 });

    const delivered = await emu.exchange.waitForMessages(2, 15_000);
    expect(delivered.map((m) => m.user)).toEqual([SEED.mailbox, SEED.mailbox]);
    expect(delivered.every((m) => m.raw.toString('utf8').endsWith(RAW))).toBe(true);
    const queue = await call('GET', '/queue?status=delivered');
    expect((queue.body.messages as { relayUser: string | null }[]).map((m) => m.relayUser).sort()).toEqual([null, 'scanner']);
    [byLogin, byNetwork, outsider].forEach((t) => t.close());

    // Every reading route answers over HTTP too, with the IDs this script made.
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const ids: Record<string, string> = {
      '/servers/{id}': String(server.id),
      '/relay-users/{id}': String((user.body.relayUser as { id: number }).id),
      '/queue/{id}': (queue.body.messages as { id: string }[])[0]!.id,
    };
    const reads = Object.entries(doc.paths).filter(([, ops]) => 'get' in ops);
    expect(reads.length).toBeGreaterThanOrEqual(8);
    for (const [template] of reads) {
      const path = template.replace('{id}', ids[template] ?? '');
      expect({ path, status: (await call('GET', path)).status }).toEqual({ path, status: 200 });
    }
    const test = await call('POST', `/servers/${server.id}/test-email`, { to: 'bob@fabrikam.test' });
    expect(test.body).toMatchObject({ ok: true, transcript: expect.arrayContaining([expect.stringMatching(/AUTH XOAUTH2/)]) });
    expect(JSON.stringify(test.body)).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  });
});
