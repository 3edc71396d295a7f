/**
 * The relay as a process whose log reader goes away (a closed pipe, a killed
 * `| tee`): writing a log line then fails with EPIPE, which must not stop the
 * relay. It keeps answering SMTP clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/relay-process.js';
import { connectRaw } from '../helpers/smtp-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = dir = undefined;
});

describe('relay365 start with its log pipe closed', () => {
  it('keeps serving SMTP after its stdout reader has gone', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay365-closed-log-'));
    const [smtpPort, adminPort] = [await freePort(), await freePort()];
    const relay = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        RELAY365_DATA_DIR: dir,
        RELAY365_LOG_LEVEL: 'info',
        RELAY365_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
        RELAY365_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
        RELAY365_ADMIN_EMAIL: 'admin@contoso.test',
        RELAY365_ADMIN_PASSWORD: 'a long admin password',
        // No network may relay without AUTH: every MAIL FROM below is refused with a log line.
        RELAY365_RELAY_NETWORKS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = relay;
    let exited: number | null | undefined;
    relay.once('exit', (code) => (exited = code));
    let stderr = '';
    relay.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Started once the panel's line is out; then the reader goes away.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('relay did not start within 30 s')), 30_000);
      relay.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('admin panel listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    relay.stdout!.destroy();
    for (let i = 0; i < 3; i++) {
      const client = await connectRaw(smtpPort);
      expect(client.greeting).toMatch(/^220 /);
      await client.command('EHLO app.contoso.test');
      expect(await client.command('MAIL FROM:<app@contoso.test>')).toMatch(/^530 /);
      await client.command('QUIT');
      client.close();
    }
    const last = await connectRaw(smtpPort);
    expect(last.greeting).toMatch(/^220 /);
    last.close();
    expect(exited).toBeUndefined();
    expect(stderr).toBe('');
  });
});
