/**
 * `npm run demo` (test/browser/demo.ts) as a person runs it: a child process
 * on a free DEMO_PORT that prints the environment the command line needs, so
 * `relay365 server list` and `doctor` reach it; it removes its data folder when
 * stopped, and a busy DEMO_PORT is one line naming it, with nothing created.
 * Each run gets its own TMPDIR, so the folders it leaves (or not) are its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack } from '../browser/stack.js';
import { freePort, runCli } from '../helpers/relay-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 30_000;

let child: ChildProcess | undefined;
let tmp: string | undefined;
let blocker: net.Server | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  if (blocker) await new Promise((resolve) => blocker?.close(resolve));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  child = tmp = blocker = undefined;
});

interface Demo {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** Starts the demo on `port` with a TMPDIR of its own. */
function spawnDemo(port: number): Demo {
  tmp = mkdtempSync(path.join(tmpdir(), 'relay365-demo-test-'));
  const started = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/browser/demo.ts')], {
    cwd: ROOT,
    env: { ...process.env, DEMO_PORT: String(port), TMPDIR: tmp },
  });
  child = started;
  let stdout = '';
  let stderr = '';
  started.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  started.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(started, 'exit').then(([code]) => code as number | null);
  return { child: started, output: () => ({ stdout, stderr }), exited };
}

/** Waits, within START_TIMEOUT_MS, until the demo has printed its instructions; fails if it exits first. */
async function whenReady(demo: Demo): Promise<string> {
  for (let waited = 0; waited < START_TIMEOUT_MS; waited += 100) {
    const { stdout, stderr } = demo.output();
    if (stdout.includes('Ctrl+C stops everything.')) return stdout;
    if (demo.child.exitCode !== null) throw new Error(`the demo exited during start-up: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the demo did not start within ${START_TIMEOUT_MS / 1000} s`);
}

const port = (server: net.Server): number => (server.address() as net.AddressInfo).port;

/** The data folders in the demo's TMPDIR (tsx keeps its cache there too). */
const dataFolders = (): string[] => readdirSync(tmp as string).filter((name) => name.startsWith('relay365-'));

/** The `export NAME=value` lines the demo printed, as an environment. */
function printedEnv(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name, word] of stdout.matchAll(/^ {2}export (\w+)=(.*)$/gm)) {
    env[name as string] = (word as string).replace(/^'(.*)'$/, '$1').replaceAll(`'\\''`, "'");
  }
  return env;
}

describe('npm run demo', () => {
  it('prints the environment that lets the command line reach it, and removes its data folder on Ctrl+C', async () => {
    const demo = spawnDemo(await freePort());
    const stdout = await whenReady(demo);
    const env = printedEnv(stdout);
    expect(Object.keys(env)).toEqual(['RELAY365_DATA_DIR', 'RELAY365_SECRET_KEY', 'NODE_EXTRA_CA_CERTS']);
    expect(stdout).toContain(`data folder     ${env['RELAY365_DATA_DIR']}`);
    expect(stdout).toContain('(sign in as admin@contoso.test / relay365-demo-password)');
    expect(existsSync(env['RELAY365_DATA_DIR'] as string)).toBe(true);

    // Only what was printed, not this test's environment (which trusts the emulator's CA already).
    const cliEnv = { PATH: process.env['PATH'], HOME: tmp, ...env };
    const servers = await runCli(['server', 'list'], cliEnv);
    expect(servers.stderr).toBe('');
    expect(servers.stdout).toMatch(/^Office 365 \(emulator\) \(default\): office365 tls localhost:\d+ — Not Authorized/m);
    const doctor = await runCli(['doctor'], cliEnv);
    // The emulator's certificate is trusted through the printed NODE_EXTRA_CA_CERTS; the account is not authorized yet.
    expect(doctor.stdout).toMatch(/✓ 3\. Network and TLS: localhost:\d+ answers with TLSv1\.3 and a trusted certificate/);
    expect(doctor.stdout).toContain('✗ 4. Token: Microsoft refused the token request: no_account');

    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(dataFolders()).toEqual([]);
  });

  it('removes its data folder on SIGTERM', async () => {
    const demo = spawnDemo(await freePort());
    const folder = printedEnv(await whenReady(demo))['RELAY365_DATA_DIR'] as string;
    expect(existsSync(folder)).toBe(true);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(dataFolders()).toEqual([]);
  });

  it('answers a busy DEMO_PORT with one line naming it, exit code 2 and nothing created', async () => {
    const busy = net.createServer();
    blocker = busy;
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const demo = spawnDemo(port(busy));
    expect(await demo.exited).toBe(2);
    const { stdout, stderr } = demo.output();
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      `relay365 demo: DEMO_PORT=${port(busy)} is in use: another program listens on 127.0.0.1:${port(busy)}. Stop it, or start the demo on a free port: DEMO_PORT=8026 npm run demo`,
    ]);
    expect(dataFolders()).toEqual([]);
  });

  it('removes the data folder of a start that fails part-way (the panel port taken after the check)', async () => {
    const busy = net.createServer();
    blocker = busy;
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    tmp = mkdtempSync(path.join(tmpdir(), 'relay365-demo-test-'));
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      const start = startStack({ adminEmail: 'admin@contoso.test', adminPassword: 'relay365-demo-password', adminPort: port(busy) });
      await expect(start).rejects.toThrow(/RELAY365_ADMIN_LISTEN=.* \(EADDRINUSE\)/);
    } finally {
      process.env['TMPDIR'] = saved;
    }
    expect(dataFolders()).toEqual([]);
  });
});
