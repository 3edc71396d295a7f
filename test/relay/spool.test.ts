/**
 * The spool's header sniff: what the listener's sender checks and the relay
 * log read from a message as it is written, however it arrives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSpool, type MessageHeaders, type Spool, type SpoolEnvelope } from '../../src/relay/spool.js';

let dir: string;
let spool: Spool;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-spool-'));
  spool = createSpool(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let next = 0;
const envelope = (): SpoolEnvelope => ({
  id: `M${next++}`,
  serverId: 1,
  mailFrom: 'erp@contoso.test',
  recipients: ['alice@fabrikam.test'],
  clientAddress: '127.0.0.1',
  clientHelo: 'erp',
  route: 'network 127.0.0.0/8',
  relayUser: null,
  receivedAt: 1_000,
  expiresAt: 2_000,
});

/** The headers the spool sniffs from `message` sent in chunks of `size` bytes, as `vet` sees them and as recorded. */
async function sniff(message: string, size: number): Promise<MessageHeaders> {
  const bytes = Buffer.from(message);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  let vetted: MessageHeaders | null = null;
  const file = await spool.write(envelope(), Buffer.alloc(0), Readable.from(chunks), Infinity, (headers) => {
    vetted = headers;
  });
  expect(vetted).toEqual(file.headers);
  expect((await spool.record(file.id))?.subject ?? null).toBe(file.headers.subject);
  return file.headers;
}

describe('spool header sniff', () => {
  it.each([
    [
      'CRLF, folded',
      'From : CEO <ceo@fabrikam.test>\r\nSubject: Invoice\r\n 42\r\nMessage-ID: <42@erp>\r\nFrom:\r\n\r\nFrom: body@fabrikam.test\r\n',
      { subject: 'Invoice 42', messageId: '<42@erp>', from: ['CEO <ceo@fabrikam.test>', ''] },
    ],
    [
      'LF',
      'Subject: =?UTF-8?B?R3LDvMOfZQ==?=\nFROM: a@x.test\n\nbody\n',
      { subject: '=?UTF-8?B?R3LDvMOfZQ==?=', messageId: null, from: ['a@x.test'] },
    ],
    ['all headers', 'Subject: only headers\r\nFrom: a@x.test', { subject: 'only headers', messageId: null, from: ['a@x.test'] }],
    ['a body only', '\r\nSubject: in the body\r\n', { subject: null, messageId: null, from: [] }],
  ])('reads the same headers (%s) whether the message comes whole or byte by byte', async (_what, message, headers) => {
    expect(await sniff(message, message.length)).toEqual(headers);
    expect(await sniff(message, 1)).toEqual(headers);
  });

  it('reads UTF-8 header values as text', async () => {
    expect((await sniff('Subject: Grüße\r\n\r\nx\r\n', 7)).subject).toBe('Grüße');
  });
});
