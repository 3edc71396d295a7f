/**
 * `npm run demo`: relay365 (relay + admin panel) in front of the Microsoft 365
 * emulator, on http://localhost:8025 or DEMO_PORT, so the four steps of the
 * admin guide can be clicked through by hand and the command line pointed at
 * it. The demo server reaches both the emulator's Exchange SMTP and its
 * Microsoft Graph endpoint, so Office 365 Send Via can be switched in the
 * panel; every message the emulator receives is printed as it arrives. It
 * prints its data folder and the environment for the command line, and
 * removes the folder on every exit: Ctrl+C, SIGTERM, a failed start or a crash.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log.js';
import { SEED } from '../emulator/index.js';
import { watchArrivals } from './arrivals.js';
import { addDemoServer, DEMO_SERVER_NAME } from './demo-server.js';
import { startStack, type Stack } from './stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The CA that signed the emulator's certificates: the command line trusts it through NODE_EXTRA_CA_CERTS. */
const EMULATOR_CA = path.join(ROOT, 'test/emulator/certs/ca.pem');
/** The port of the emulator's seeded redirect URI. */
const DEFAULT_PORT = 8025;

/** Ends the demo with one line on stderr, never a stack trace. */
function fail(line: string, code: number): never {
  process.stderr.write(`relay365 demo: ${line}\n`);
  process.exit(code);
}

/** DEMO_PORT as a port number, or the one-line error. */
function demoPort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) fail(`DEMO_PORT=${JSON.stringify(value)} is not a port: give a whole number from 1 to 65535.`, 2);
  return port;
}

/** Null when the panel could listen on loopback `port` now, else the system's error code. */
function portRefusal(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(null)));
  });
}

/** A value as one shell word (single-quoted when it holds anything but safe characters). */
const shellWord = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);

const port = demoPort(process.env['DEMO_PORT']);
// Checked before anything is started or created, so a busy port leaves nothing behind.
const refusal = await portRefusal(port);
if (refusal === 'EADDRINUSE') {
  fail(
    `DEMO_PORT=${port} is in use: another program listens on 127.0.0.1:${port}. Stop it, or start the demo on a free port: DEMO_PORT=8026 npm run demo`,
    2,
  );
}
if (refusal !== null)
  fail(`DEMO_PORT=${port} cannot be used (${refusal}): choose a free port from 1024 to 65535, e.g. DEMO_PORT=8026 npm run demo`, 2);

const adminEmail = process.env['RELAY365_ADMIN_EMAIL'] ?? 'admin@contoso.test';
const adminPassword = process.env['RELAY365_ADMIN_PASSWORD'] ?? 'relay365-demo-password';

let stack: Stack | null = null;
let stopping = false;
const closeAndExit = (running: Stack): void => {
  running.close().then(
    () => process.exit(0),
    (err: unknown) => fail(`stopped with an error: ${(err as Error).message}`, 1),
  );
};
const stop = (): void => {
  // A second signal does not wait for the graceful stop; the exit handler still removes the folder.
  if (stopping && stack) process.exit(1);
  stopping = true;
  // A signal during start-up is acted on once the start is complete (below), so the folder is known.
  if (stack) closeAndExit(stack);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);

try {
  stack = await startStack({ adminEmail, adminPassword, adminPort: port, log: createLogger('info') });
} catch (err) {
  // startStack has closed what it started and removed its folder.
  fail(`cannot start: ${(err as Error).message}`, 1);
}
const dataDir = stack.fx.dir;
// The last word on every way out, crashes included; a graceful stop has removed the folder already.
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
if (stopping) closeAndExit(stack);
else showDemo(stack);

/** Sets up the email server and prints how to use the demo, the command line's environment included. */
function showDemo(stack: Stack): void {
  const { fx, emu, baseUrl, smtpPort } = stack;
  addDemoServer(stack);

  const cliEnv = {
    RELAY365_DATA_DIR: fx.dir,
    RELAY365_SECRET_KEY: fx.config.secretKey ?? '',
    NODE_EXTRA_CA_CERTS: EMULATOR_CA,
  };
  process.stdout.write(`
relay365 demo
  admin panel     ${baseUrl}  (sign in as ${adminEmail} / ${adminPassword})
  relay SMTP      127.0.0.1:${smtpPort}
  data folder     ${fx.dir}  (removed when the demo stops)
An office365 server "${DEMO_SERVER_NAME}" is set up: open it, click Authorize Account and pick
${SEED.mailbox} (the app already has the organization's consent, so no consent page follows).
Then send a test email or point an app at the relay SMTP port, for example with swaks:
  swaks --server 127.0.0.1:${smtpPort} --from ${SEED.mailbox} --to alice@fabrikam.test
To send through Microsoft Graph instead of SMTP AUTH: on the server's page edit Office 365 Send Via,
choose Microsoft Graph, save, and click Authorize Account again (the emulator's Graph endpoint is
already the server's Graph Endpoint). Every message the emulator receives is printed below.
Microsoft 365 emulator (your browser will warn about its self-signed certificate: accept it once)
  Server Host     ${emu.smtpHost}   Server Port ${emu.smtpPort}   Use Secure Connection tls
  Office 365 Cloud Custom: Authority Host ${emu.authorityHost}, SMTP Resource https://outlook.office.com,
                  Graph Endpoint ${emu.graphUrl}
  Tenant ID       ${SEED.tenantId}
  Client ID       ${SEED.clientId}
  Client Secret   ${SEED.clientSecret}
  account         ${SEED.mailbox}
The command line reaches the demo with this environment (paste it into another terminal,
then run ./bin/relay365.js server list, queue list or doctor from ${ROOT}):
${Object.entries(cliEnv)
  .map(([name, value]) => `  export ${name}=${shellWord(value)}`)
  .join('\n')}
Ctrl+C stops everything.
`);
  watchArrivals(emu, (line) => process.stdout.write(`${line}\n`));
}
