/**
 * What reaches Microsoft besides the bytes: the MAIL FROM parameters the
 * client declared, and the one change made to line endings.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { connectRaw } from '../helpers/smtp-client.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});

afterEach(() => h.close());

/** Sends `data` (dot-stuffed by the caller, without the final dot) with MAIL FROM `params`; resolves with the reply to DATA. */
async function sendRaw(params: string, data: string | Buffer): Promise<string> {
  const c = await connectRaw(h.smtpPort);
  await c.command('EHLO erp.test');
  expect(await c.command(`MAIL FROM:<${SEED.mailbox}>${params}`)).toMatch(/^250 /);
  expect(await c.command('RCPT TO:<alice@fabrikam.test>')).toMatch(/^250 /);
  expect(await c.command('DATA')).toMatch(/^354 /);
  c.write(data);
  const reply = await c.command('\r\n.');
  await c.command('QUIT');
  c.close();
  return reply;
}

describe('upstream fidelity', () => {
  it('declares BODY=8BITMIME and SIZE upstream when the client declared 8BITMIME', async () => {
    h = await startHarness({ signingKey });
    const body = Buffer.from(`From: ${SEED.mailbox}\r\nTo: alice@fabrikam.test\r\nSubject: Grüße\r\n\r\nÄrger mit 8 Bit\r\n`, 'utf8');
    expect(await sendRaw(` BODY=8BITMIME SIZE=${body.length}`, body.subarray(0, -2))).toMatch(/^250 /);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received?.mailFromArgs).toMatchObject({ BODY: '8BITMIME', SIZE: String(body.length) });
    expect(received?.raw.subarray(-body.length)).toEqual(body);
  });

  it('declares no BODY when the client declared none, and still the SIZE', async () => {
    h = await startHarness({ signingKey });
    expect(await sendRaw('', `From: ${SEED.mailbox}\r\nSubject: plain\r\n\r\nascii only`)).toMatch(/^250 /);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received?.mailFromArgs.BODY).toBeUndefined();
    expect(Number(received?.mailFromArgs.SIZE)).toBeGreaterThan(0);
  });

  it('passes SMTPUTF8 on for an internationalised recipient', async () => {
    h = await startHarness({ signingKey });
    await h.submit(`From: ${SEED.mailbox}\r\nTo: jürgen@fabrikam.test\r\nSubject: EAI\r\n\r\nhi\r\n`, ['jürgen@fabrikam.test']);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received).toMatchObject({ rcptTo: ['jürgen@fabrikam.test'] });
    expect(received?.mailFromArgs.SMTPUTF8).toBe(true);
  });

  it('turns bare LF and bare CR into CRLF on the way out, so a smuggled end of data stays message text', async () => {
    h = await startHarness({ signingKey });
    const data = `From: ${SEED.mailbox}\r\nSubject: bare\r\n\r\nline one\nline two\rline three\n.\nMAIL FROM:<evil@example.test>\r\nend`;
    expect(await sendRaw('', data)).toMatch(/^250 /);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    const text = received?.raw.toString('utf8') ?? '';
    expect(text.endsWith('\r\n\r\nline one\r\nline two\r\nline three\r\n.\r\nMAIL FROM:<evil@example.test>\r\nend\r\n')).toBe(true);
    // The queue counts what the client sent, before the change.
    expect(h.fx.store.sync.queue.list()[0]?.size).toBe(Buffer.byteLength(`${data}\r\n`));
    expect(h.emu.exchange.messages).toHaveLength(1);
  });
});
