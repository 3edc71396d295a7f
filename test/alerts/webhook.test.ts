/**
 * The alert webhook never repeats what its endpoint answered: the URL can
 * point at any service the relay can reach, so Send test alert and the failure
 * log give the status code or what kind of answer came back, never its bytes.
 * The endpoints are local servers on 127.0.0.1 that answer with a secret.
 */
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlerts, type ChannelResult } from '../../src/alerts/engine.js';
import { createLogger } from '../../src/log.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';

const SECRET = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let fx: Fixture | undefined;
const servers: Array<Server | net.Server> = [];
afterEach(async () => {
  fx?.cleanup();
  fx = undefined;
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An HTTP server on 127.0.0.1 answering every request with `status`, `headers` and a body holding the secret. */
async function httpEndpoint(status: number, headers: Record<string, string> = {}): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`${SECRET}\n`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/internal/status`;
}

/** A TCP service on 127.0.0.1 that answers anything with the secret, not HTTP. */
async function rawEndpoint(): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(`${SECRET}\r\n`));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
}

/** Sends a test alert to `url` and, for a lockout alert, one evaluation; returns the webhook result and the log. */
async function tryWebhook(url: string): Promise<{ result: ChannelResult; log: string }> {
  fx = createFixture();
  const logLines: string[] = [];
  fx.store.sync.alerts.saveSettings({ webhookUrl: url }, Date.now());
  for (let i = 0; i < 5; i++) fx.store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', Date.now());
  const alerts = createAlerts({
    config: fx.config,
    store: fx.store,
    relay: { enqueueAlert: () => Promise.reject(new Error('no alert mail in this test')) },
    log: createLogger('debug', (line) => logLines.push(line)),
  });
  const result = (await alerts.sendTest()).find((r) => r.channel === 'webhook')!;
  await alerts.evaluateNow();
  return { result, log: logLines.join('\n') };
}

describe('alert webhook answers', () => {
  it('reports an error status by its code, never the body', async () => {
    const { result, log } = await tryWebhook(await httpEndpoint(500));
    expect(result).toMatchObject({ ok: false, message: 'Not delivered: webhook answered HTTP 500.' });
    expect(log).toContain('"error":"webhook answered HTTP 500"');
    expect(JSON.stringify(result) + log).not.toContain('wJalrXUtnFEMI');
  });

  it('accepts a 2xx without reading or showing the body', async () => {
    const { result, log } = await tryWebhook(await httpEndpoint(200));
    expect(result).toMatchObject({ ok: true, message: 'The webhook accepted the test notice.' });
    expect(JSON.stringify(result) + log).not.toContain('wJalrXUtnFEMI');
  });

  it('says that an answer is not HTTP, without its bytes', async () => {
    const { result, log } = await tryWebhook(await rawEndpoint());
    expect(result).toMatchObject({
      ok: false,
      message: 'Not delivered: webhook not reached: the endpoint did not answer like a web server (the answer is not HTTP).',
    });
    expect(log).toContain('the endpoint did not answer like a web server');
    expect(JSON.stringify(result) + log).not.toContain('wJalrXUtnFEMI');
  });

  it('does not follow a redirect, and names neither its target nor the body', async () => {
    const { result, log } = await tryWebhook(await httpEndpoint(302, { location: 'http://127.0.0.1:1/internal/secret-target' }));
    expect(result).toMatchObject({
      ok: false,
      message: 'Not delivered: webhook answered HTTP 302, a redirect, which relay365 does not follow.',
    });
    expect(JSON.stringify(result) + log).not.toMatch(/wJalrXUtnFEMI|secret-target/);
  });
});
