/**
 * The doctor and Check Configuration pointed at something that is not an SMTP
 * server: a service on 127.0.0.1 that answers with a secret. The report, its
 * text, the panel page and the log say how many bytes came back and that they
 * were not SMTP, never what they were.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReport } from '../../src/doctor/format.js';
import { runDoctor } from '../../src/doctor/run.js';
import { silentLogger } from '../../src/log.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createPanel, signedIn, visibleText, type Panel } from '../admin/panel.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

const SECRET = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** What an internal service might answer; each line would betray something. */
const ANSWER = `${SECRET}\r\nredis_version:7.2.4\r\n`;

let fx: Fixture | undefined;
let panel: Panel | undefined;
const services: net.Server[] = [];
afterEach(async () => {
  fx?.cleanup();
  fx = undefined;
  panel?.cleanup();
  panel = undefined;
  for (const service of services.splice(0)) await new Promise((resolve) => service.close(resolve));
});

/** A TCP service on 127.0.0.1; `answer` is called with each connection and its number (0 first). */
async function service(answer: (socket: net.Socket, connection: number) => void): Promise<number> {
  let connections = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    answer(socket, connections++);
  });
  services.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Answers SMTP well enough for the Network step: a greeting, then 250 to EHLO and 221 to QUIT. */
function smtpLike(socket: net.Socket): void {
  socket.write('220 mail.example.test ESMTP\r\n');
  socket.on('data', (data: Buffer) => {
    const command = data.toString('latin1');
    if (/^QUIT/i.test(command)) socket.end('221 2.0.0 Bye\r\n');
    else socket.write('250 mail.example.test\r\n');
  });
}

/** An email server without sign-in on `port`, as the doctor checks it (no Microsoft steps). */
const settings = (port: number, secure: ServerSettings['secure'] = 'none'): ServerSettings =>
  plainServer({ name: 'internal', host: '127.0.0.1', port, secure });

async function diagnose(port: number, secure: ServerSettings['secure'] = 'none') {
  fx = createFixture();
  fx.store.sync.servers.add(settings(port, secure));
  const report = await runDoctor({ config: fx.config, store: fx.store, log: silentLogger, timeoutMs: 5_000 });
  const steps = report.servers[0]?.steps ?? [];
  return { report, text: formatReport(report).join('\n'), step: (id: string) => steps.find((s) => s.id === id)! };
}

describe('relay365 doctor against a service that is not SMTP', () => {
  it('fails the network step with the byte count, never the bytes, when the greeting is not SMTP', async () => {
    const port = await service((socket) => socket.end(ANSWER));
    const { report, text, step } = await diagnose(port);
    expect(step('network')).toMatchObject({ status: 'fail', problem: `127.0.0.1:${port} is not an SMTP server` });
    expect(step('network').saw).toMatch(
      /^greeting: did not answer like an SMTP server \(it sent \d+ bytes that are not an SMTP greeting\)$/,
    );
    expect(step('smtp').status).toBe('skip');
    for (const out of [JSON.stringify(report), text]) {
      expect(out).not.toContain('wJalrXUtnFEMI');
      expect(out).not.toContain('redis_version');
    }
  });

  it('reports a reply to EHLO that is not SMTP without repeating it', async () => {
    const port = await service((socket) => {
      socket.write('220 files.example.test FTP ready\r\n');
      socket.on('data', () => socket.end(ANSWER));
    });
    const { report, text, step } = await diagnose(port, 'tls');
    expect(step('network').status).toBe('fail');
    expect(step('network').saw).toMatch(/did not answer like an SMTP server \(it sent \d+ bytes that are not an SMTP reply\)/);
    expect(JSON.stringify(report)).not.toContain('wJalrXUtnFEMI');
    expect(text).not.toContain('wJalrXUtnFEMI');
  });

  it('fails the SMTP session step with the byte count when its connection is answered by something else', async () => {
    // The Network step's connection gets SMTP; the SMTP step's gets the secret (a port shared or switched meanwhile).
    const port = await service((socket, connection) => (connection === 0 ? smtpLike(socket) : socket.end(ANSWER)));
    const { report, text, step } = await diagnose(port);
    expect(step('network').status).toBe('pass');
    expect(step('smtp')).toMatchObject({ status: 'fail', problem: `127.0.0.1:${port} is not an SMTP server` });
    expect(step('smtp').saw).toMatch(/^greeting: did not answer like an SMTP server \(it sent \d+ bytes that are not an SMTP greeting\)$/);
    expect(JSON.stringify(report)).not.toContain('wJalrXUtnFEMI');
    expect(text).not.toContain('wJalrXUtnFEMI');
  });

  it('stops reading a service that streams without a line end, and says how much it sent', async () => {
    const port = await service((socket) => socket.end(Buffer.alloc(100_000, 'A')));
    const { report, step } = await diagnose(port);
    expect(step('network').saw).toMatch(/it sent \d+ bytes that are not an SMTP greeting/);
    expect(JSON.stringify(report)).not.toContain('AAAA');
  });
});

describe('Check Configuration against a service that is not SMTP', () => {
  it('shows the byte count on the page and keeps the answer out of the page and the log', async () => {
    const port = await service((socket) => socket.end(ANSWER));
    panel = createPanel();
    panel.fx.store.sync.servers.add(settings(port));
    const agent = await signedIn(panel, 'editor@example.com', { updateSettings: true });
    const page = await agent.post('/servers/1/check');
    expect(page.status).toBe(200);
    expect(visibleText(page.text)).toMatch(/did not answer like an SMTP server \(it sent \d+ bytes that are not an SMTP greeting\)/);
    for (const body of agent.bodies) expect(body).not.toContain('wJalrXUtnFEMI');
    expect(panel.logLines.join('\n')).not.toContain('wJalrXUtnFEMI');
  });
});
