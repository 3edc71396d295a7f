import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { createSecretBox, loadSecretKey } from '../../src/store/secret-box.js';
import { queuedMessage } from '../helpers/fixture.js';
import { runCli } from '../helpers/relay-process.js';

const SECRET = 'Zq8~very.secret.client.value.0123456789';
let dir: string;
let env: NodeJS.ProcessEnv;
let secretFile: string;

beforeAll(async () => {
  // A data folder relay365 creates itself, to see the permissions it gives it.
  dir = path.join(mkdtempSync(path.join(tmpdir(), 'relay365-cli-')), 'data');
  env = { ...process.env, RELAY365_DATA_DIR: dir, RELAY365_LOG_LEVEL: 'error' };
  secretFile = path.join(path.dirname(dir), 'client-secret');
  writeFileSync(secretFile, `${SECRET}\n`);
  expect(await runCli(['init'], env)).toMatchObject({ code: 0 });
});
afterAll(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

describe('relay365 command line', () => {
  it('adds an application sign-in server and never prints or stores its secret in the clear', async () => {
    const added = await runCli(
      [
        'server',
        'add',
        '--name',
        'office365',
        '--method',
        'office365',
        '--mode',
        'application',
        '--tenant-id',
        'contoso.onmicrosoft.com',
        '--client-id',
        '9e4a6f21-3c7d-4b8e-a152-d06b8c3f7e94',
        '--client-secret-file',
        secretFile,
        '--mailbox',
        'relay@contoso.com',
        '--send-as',
        'Sales@contoso.com, billing@contoso.com',
        '--bounce-notices',
        'off',
      ],
      env,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'added email server office365 (default)\n' });
    const list = await runCli(['server', 'list', '--json'], env);
    expect(list.code).toBe(0);
    const [server] = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(server).toMatchObject({
      name: 'office365',
      host: 'smtp.office365.com',
      port: 587,
      secure: 'tls',
      hasClientSecret: true,
      sendAs: ['sales@contoso.com', 'billing@contoso.com'],
      bounceNotices: 'off',
      delayNotices: 'off',
      status: 'not_authorized',
    });
    expect(list.stdout).not.toContain(SECRET);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'relay365.db')).mode & 0o777).toBe(0o600);
    for (const file of ['relay365.db', 'relay365.db-wal']) {
      const bytes = (() => {
        try {
          return readFileSync(path.join(dir, file));
        } catch {
          return Buffer.alloc(0);
        }
      })();
      expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    }
  });

  it.each([
    [
      ['server', 'add', '--name', 'x', '--port', '99999'],
      /^relay365: --port "99999" is not valid: Enter a whole number from 1 to 65535\.\n$/,
    ],
    [['server', 'add', '--name', 'x', '--client-id', 'not-a-guid'], /^relay365: --client-id "not-a-guid" is not valid: .*GUID/],
    [
      ['server', 'add', '--name', 'x', '--send-as', 'sales@contoso.com,nope'],
      /^relay365: --send-as "sales@contoso.com,nope" is not valid: "nope" is not an email address/,
    ],
    [
      ['server', 'add', '--name', 'x', '--delay-notices', 'maybe'],
      /^relay365: --delay-notices "maybe" is not valid: Choose one of on, off\.\n$/,
    ],
    [['server', 'set', 'missing', '--port', '25'], /^relay365: no email server named "missing"/],
    [['frobnicate'], /^relay365: unknown command "frobnicate"/],
  ])('refuses %j with exit code 2 and one line', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a bad environment value at start-up with exit code 2 and one line', async () => {
    const result = await runCli(['start'], { ...env, RELAY365_SMTP_LISTEN: '127.0.0.1:seventy' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'relay365: RELAY365_SMTP_LISTEN="127.0.0.1:seventy" is not valid: host:port such as 127.0.0.1:2525 or [::1]:2525 (port 0-65535)\n',
    );
  });

  it('removes a server only with --drop-queued while mail waits, failing that mail with an event and deleting its body', async () => {
    const store = createStore(dir, createSecretBox(loadSecretKey(dir, null)));
    const server = store.sync.servers.findByName('office365')!;
    const hasBody = async (): Promise<boolean> => {
      const reader = createStore(dir, createSecretBox(loadSecretKey(dir, null)));
      try {
        return await reader.bodies.has('WAITING1');
      } finally {
        await reader.close();
      }
    };
    store.sync.queue.insert(
      [
        queuedMessage('WAITING1', server.id, {
          mailFrom: 'a@example.test',
          recipients: ['b@example.test'],
          size: 1,
          receivedAt: 1,
          expiresAt: 2,
        }),
      ],
      [{ messageId: 'WAITING1', seq: 0, bytes: Buffer.from('Subject: waiting\r\n\r\nbody\r\n') }],
    );
    await store.close();
    const refused = await runCli(['server', 'remove', 'office365'], env);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('still has 1 message(s) waiting') });
    expect(await hasBody()).toBe(true);
    const removed = await runCli(['server', 'remove', 'office365', '--drop-queued'], env);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed email server office365 and failed 1 waiting message(s)\n' });
    expect(await hasBody()).toBe(false);
    const list = await runCli(['queue', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject([
      {
        id: 'WAITING1',
        status: 'failed',
        serverId: null,
        lastReply: 'not delivered: its email server office365 was removed by the command line',
        recipients: [{ address: 'b@example.test', status: 'failed' }],
      },
    ]);
    const after = createStore(dir, createSecretBox(loadSecretKey(dir, null)));
    expect(after.sync.queue.events('WAITING1').at(-1)).toMatchObject({
      kind: 'failed',
      detail: 'not delivered: its email server office365 was removed by the command line',
    });
    await after.close();
  });
});
