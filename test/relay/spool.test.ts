/**
 * The spool's header sniff: what the listener's sender checks and the relay
 * log read from a message as it is written, however it arrives.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, createSpool, MessageTooBigError, type MessageHeaders, type Spool } from '../../src/relay/spool.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let spool: Spool;
beforeEach(() => {
  fx = createFixture();
  spool = createSpool(fx.store.bodies);
});
afterEach(() => fx.cleanup());

let next = 0;

/** The headers the spool sniffs from `message` sent in chunks of `size` bytes, as `vet` sees them and as returned. */
async function sniff(message: string, size: number): Promise<MessageHeaders> {
  const bytes = Buffer.from(message);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  let vetted: MessageHeaders | null = null;
  const file = await spool.write(`M${next++}`, Buffer.alloc(0), Readable.from(chunks), Infinity, (headers) => {
    vetted = headers;
  });
  expect(vetted).toEqual(file.headers);
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

describe('spool chunks', () => {
  /** A message of `total` bytes in 64 KiB network reads, each byte telling its position. */
  const message = (total: number): Buffer => Buffer.from(Array.from({ length: total }, (_, i) => 97 + (i % 26)));
  const reads = (bytes: Buffer): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65_536) out.push(bytes.subarray(i, i + 65_536));
    return out;
  };
  const readAll = async (id: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const part of spool.read(id)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };

  it('stores a large message in chunks as it streams and hands back the last one, which read gives back in order', async () => {
    const prefix = Buffer.from('Received: by relay365\r\n');
    const body = message(3 * CHUNK_BYTES + 1_000);
    const file = await spool.write('BIG', prefix, Readable.from(reads(body)));
    // Chunks before the last are in the store already; the last waits for the committer.
    expect(file.last.seq).toBe(3);
    expect(fx.store.sync.bodies.chunk('BIG', 3)).toBeUndefined();
    fx.store.sync.bodies.append(file.last);
    expect(file.size).toBe(body.length);
    expect((await readAll('BIG')).equals(Buffer.concat([prefix, body]))).toBe(true);
    expect((await spool.head('BIG', 10)).toString()).toBe('Received: ');
  });

  it('deletes the chunks already stored when a message passes the limit, and still reads the body to its end', async () => {
    const body = message(4 * CHUNK_BYTES);
    const stream = Readable.from(reads(body));
    await expect(spool.write('OVER', Buffer.alloc(0), stream, 2 * CHUNK_BYTES)).rejects.toBeInstanceOf(MessageTooBigError);
    expect(fx.store.sync.bodies.has('OVER')).toBe(false);
    expect(stream.readableEnded).toBe(true);
  });

  it('deletes the chunks already stored when the sender check refuses the headers', async () => {
    const body = Buffer.concat([Buffer.from('From: ceo@elsewhere.test\r\n\r\n'), message(2 * CHUNK_BYTES)]);
    const refused = spool.write('VET', Buffer.alloc(0), Readable.from(reads(body)), Infinity, () => {
      throw new Error('sender not allowed');
    });
    await expect(refused).rejects.toThrow('sender not allowed');
    expect(fx.store.sync.bodies.has('VET')).toBe(false);
  });

  it('says so when a message has no stored body', async () => {
    await expect(spool.head('NONE', 10)).rejects.toThrow(/no stored body/);
  });
});
