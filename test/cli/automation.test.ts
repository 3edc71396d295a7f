import { Readable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { TestEmailRefused } from '../../src/cli/send-test-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { createSpool, queueRecord } from '../../src/relay/spool.js';
import { createSigningKey, SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, plainServer, spoolEnvelope, type Fixture } from '../helpers/fixture.js';
import { emulatorServer } from '../helpers/office365.js';

let fx: Fixture;
let emu: Emulator | null = null;
let signingKey: SigningKey;
let out: string[];
const DISABLED = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.';

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(async () => {
  await emu?.close();
  emu = null;
  fx.cleanup();
});

const run = async (command: string, ...args: string[]): Promise<string[]> => {
  out = [];
  await runCommand(fx.store, command, args, (line) => out.push(line), fx.config);
  return out;
};

/** A waiting message with its body, as the listener leaves it after its 250. */
async function waiting(id: string, serverId: number, status: 'deferred' | 'held' = 'deferred'): Promise<void> {
  const envelope = spoolEnvelope(id, serverId, {
    mailFrom: 'erp@contoso.test',
    recipients: ['alice@fabrikam.test'],
    receivedAt: Date.now() - 60_000,
    expiresAt: Date.now() + 86_400_000,
  });
  const file = await createSpool(fx.store.bodies).write(id, Buffer.alloc(0), Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]));
  fx.store.sync.queue.insert([queueRecord(envelope, file)], [file.last]);

  fx.store.sync.queue.claim(id, Date.now());
  fx.store.sync.queue.recordAttempt(
    id,
    status === 'held'
      ? { kind: 'hold', reply: DISABLED }
      : { kind: 'defer', nextAttemptAt: Date.now() + 3_600_000, reply: '451 4.7.500 Server busy' },
    Date.now(),
  );
}

describe('relay365 api-token', () => {
  it('prints a new token once on the last line, lists it by its first characters, and revokes it', async () => {
    fx = createFixture();
    const added = await run('api-token', 'add', '--name', 'provisioning', '--scope', 'write');
    const token = added.at(-1) as string;
    expect(token).toMatch(/^r365_[A-Za-z0-9_-]{43}$/);
    expect(fx.store.sync.apiTokens.authenticate(token, Date.now())).toMatchObject({ name: 'provisioning', scope: 'write' });
    const listed = (await run('api-token', 'list')).join('\n');
    expect(listed).toMatch(
      /^provisioning: write, r365_.{4}…, created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, last used \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
    const json = JSON.parse((await run('api-token', 'list', '--json')).join('\n')) as unknown[];
    expect(json).toEqual([expect.objectContaining({ name: 'provisioning', scope: 'write' })]);
    expect(listed + JSON.stringify(json)).not.toContain(token);
    await expect(run('api-token', 'add', '--name', 'provisioning', '--scope', 'read')).rejects.toThrow(/exists already/);
    await expect(run('api-token', 'add', '--name', 'x', '--scope', 'admin')).rejects.toThrow(
      /--scope "admin" is not valid: Choose read or write/,
    );
    expect(await run('api-token', 'revoke', 'provisioning')).toEqual(['revoked API token provisioning; requests with it now get 401']);
    expect(fx.store.sync.apiTokens.authenticate(token, Date.now())).toBeUndefined();
  });
});

describe('relay365 queue show|retry|delete', () => {
  it('shows a message with its recipients, events and the fix for its last reply', async () => {
    fx = createFixture();
    const server = fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    await waiting('Q1', server.id, 'held');
    const text = (await run('queue', 'show', 'Q1')).join('\n');
    expect(text).toMatch(/^Q1: held, 1 attempt\(s\), 20 bytes, email server upstream/);
    expect(text).toContain('to alice@fabrikam.test: pending');
    expect(text).toContain(`last reply: ${DISABLED}`);
    expect(text).toMatch(/fix: .*Authenticated SMTP/);
    expect(text).toMatch(/events:\n.* received/);
    const json = JSON.parse((await run('queue', 'show', 'Q1', '--json')).join('\n')) as {
      server: string;
      hint: unknown;
      events: unknown[];
    };
    expect(json).toMatchObject({ id: 'Q1', server: 'upstream', status: 'held' });
    expect(json.hint).not.toBeNull();
    await expect(run('queue', 'show', 'NOPE')).rejects.toThrow(UsageError);
  });

  it('retries one message, a server’s waiting mail or all held mail, recording who did it', async () => {
    fx = createFixture();
    const a = fx.store.sync.servers.add(plainServer({ name: 'a' }));
    const b = fx.store.sync.servers.add(plainServer({ name: 'b' }));
    await waiting('A1', a.id, 'deferred');
    await waiting('A2', a.id, 'held');
    await waiting('B1', b.id, 'held');
    await waiting('B2', b.id, 'deferred');
    expect(await run('queue', 'retry', 'B2')).toEqual(['message B2 is due now; the running relay sends it within a few seconds']);
    expect(fx.store.sync.queue.get('B2')?.status).toBe('queued');
    expect(await run('queue', 'retry', '--held', '--server', 'b')).toEqual([
      '1 held message(s) of b due now; the running relay sends them within a few seconds',
    ]);
    expect(fx.store.sync.queue.get('B1')?.status).toBe('queued');
    expect(await run('queue', 'retry', '--server', 'a')).toEqual([
      '2 deferred and held message(s) of a due now; the running relay sends them within a few seconds',
    ]);
    expect(['A1', 'A2'].map((id) => fx.store.sync.queue.get(id)?.status)).toEqual(['queued', 'queued']);
    expect(fx.store.sync.queue.events('A2').at(-1)).toMatchObject({ kind: 'released', detail: 'retried by the command line' });
    expect(await run('queue', 'retry', '--held')).toEqual(['no held message(s) to retry']);
    await expect(run('queue', 'retry')).rejects.toThrow(/say what to retry/);
    await expect(run('queue', 'retry', 'A1', '--held')).rejects.toThrow(/not both/);
  });

  it('deletes a waiting message and its body, but not one being delivered', async () => {
    fx = createFixture();
    const server = fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
    await waiting('D1', server.id);
    expect(fx.store.sync.bodies.has('D1')).toBe(true);
    expect(await run('queue', 'delete', 'D1')).toEqual(['deleted message D1 (it was deferred)']);
    expect(fx.store.sync.queue.get('D1')).toBeUndefined();
    expect(fx.store.sync.bodies.has('D1')).toBe(false);
    await waiting('D2', server.id);
    fx.store.sync.queue.retryNow('D2', Date.now());
    fx.store.sync.queue.claim('D2', Date.now());
    await expect(run('queue', 'delete', 'D2')).rejects.toThrow(/being delivered/);
  });
});

describe('relay365 send-test', () => {
  it('sends through Microsoft 365 and prints the conversation without the token', async () => {
    emu = await startEmulator({ signingKey });
    fx = createFixture();
    fx.store.sync.servers.add(emulatorServer(emu, { name: 'office365' }));
    const lines = await run('send-test', '--server', 'office365', '--to', 'alice@fabrikam.test', '--subject', 'from the CLI');
    const text = lines.join('\n');
    expect(text).toMatch(/C: AUTH XOAUTH2/);
    expect(lines.at(-1)).toMatch(/^sent from relay@contoso\.test to alice@fabrikam\.test through office365: 250 2\.0\.0 OK/);
    const [received] = await emu.exchange.waitForMessages(1, 10_000);
    expect(received).toMatchObject({ user: SEED.mailbox, rcptTo: ['alice@fabrikam.test'] });
    expect(received?.raw.toString()).toContain('Subject: from the CLI');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    expect(text).not.toContain(SEED.clientSecret);
  });

  it('prints Microsoft’s refusal with its fix and fails', async () => {
    emu = await startEmulator({ signingKey });
    fx = createFixture();
    fx.store.sync.servers.add(emulatorServer(emu, { name: 'office365', clientSecret: 'the-secret-id-not-its-value' }));
    await expect(run('send-test', '--server', 'office365', '--to', 'alice@fabrikam.test')).rejects.toThrow(TestEmailRefused);
    const text = out.join('\n');
    expect(text).toMatch(/not sent through office365: .*AADSTS7000215/);
    expect(text).toMatch(/fix: .*Secret ID/);
    expect(text).not.toContain('the-secret-id-not-its-value');
    await expect(run('send-test', '--server', 'office365', '--to', 'nobody')).rejects.toThrow(/--to is not valid: Enter an email address/);
    expect(emu.exchange.messages).toHaveLength(0);
  });
});
