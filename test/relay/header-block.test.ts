import { describe, expect, it } from 'vitest';
import { headerEndFinder, headerFields, leadingHeaderBlock } from '../../src/relay/header-block.js';
import { headerFromAddresses, rewriteHeaderBlock } from '../../src/relay/sender-policy.js';

/** Feeds `chunks` to a fresh finder; the end it reports, or -1. */
function findEnd(chunks: Buffer[]): number {
  const find = headerEndFinder();
  for (const chunk of chunks) {
    const end = find(chunk);
    if (end >= 0) return end;
  }
  return -1;
}

describe('headerEndFinder', () => {
  it.each([
    ['CRLF', 'Subject: a\r\nFrom: b@x.test\r\n\r\nbody\r\n', 28],
    ['LF', 'Subject: a\nFrom: b@x.test\n\nbody\n', 26],
    ['an LF empty line after CRLF lines', 'Subject: a\r\n\nbody', 12],
    ['a CRLF empty line after LF lines', 'Subject: a\n\r\nbody', 11],
    ['a folded field', 'Subject: a\r\n b\r\n\r\nbody', 16],
    ['a CR inside a line', 'Subject: a\rb\r\n\r\nbody', 14],
    ['no empty line', 'Subject: a\r\nFrom: b@x.test\r\n', -1],
    ['a message that starts with its body', '\r\nbody\r\n', 0],
  ])('finds the end of a header block with %s wherever the chunks are cut', (_what, message, end) => {
    const bytes = Buffer.from(message);
    expect(findEnd([bytes])).toBe(end);
    for (let cut = 0; cut <= bytes.length; cut++) expect(findEnd([bytes.subarray(0, cut), bytes.subarray(cut)])).toBe(end);
    expect(findEnd([...bytes].map((byte) => Buffer.from([byte])))).toBe(end);
  });
});

describe('leadingHeaderBlock', () => {
  it('cuts a message after its last header line, or after the last whole line in what was read', () => {
    expect(leadingHeaderBlock(Buffer.from('Subject: a\r\n\r\nbody')).toString()).toBe('Subject: a\r\n');
    expect(leadingHeaderBlock(Buffer.from('Subject: a\r\nX-Long: b')).toString()).toBe('Subject: a\r\n');
    expect(leadingHeaderBlock(Buffer.from('Subject: a')).toString()).toBe('Subject: a');
  });
});

describe('headerFields', () => {
  const fields = (block: string) => headerFields(Buffer.from(block));

  it('reads every value of a field in order, unfolded, in any case, empty ones too', () => {
    const block =
      'Received: from a\r\n\tby b; Sun, 1 Mar 2026 10:00:00 +0000\r\nFROM: a@x.test\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nfrom:\r\n';
    expect(fields(block).all('from')).toEqual(['a@x.test', '']);
    expect(fields(block).all('received')).toEqual(['from a by b; Sun, 1 Mar 2026 10:00:00 +0000']);
    expect(fields(block).all('Subject')).toEqual(['=?UTF-8?B?R3LDvMOfZQ==?=']);
    expect(fields(block).all('reply-to')).toEqual([]);
  });

  it('reads `From :` as a From field, also on the first line, and an mbox From_ line as none', () => {
    expect(fields('From : CEO <ceo@fabrikam.test>\r\nSubject: x\r\n').all('from')).toEqual(['CEO <ceo@fabrikam.test>']);
    expect(fields('Subject: x\r\nFrom\t: ceo@fabrikam.test\r\n').all('from')).toEqual(['ceo@fabrikam.test']);
    expect(fields('From jane@fabrikam.test Sun Mar  1 10:00:00 2026\r\nSubject: x\r\n').all('from')).toEqual([]);
  });

  it('reads fields named like object members as plain fields', () => {
    const block = '__proto__: x\r\nconstructor: y\r\nSubject: z\r\n';
    expect(fields(block).all('subject')).toEqual(['z']);
    expect(fields(block).all('toString')).toEqual([]);
  });

  it('agrees with the sender rewrite on which fields are From fields', () => {
    const received = 'Received: from erp ([127.0.0.1])\r\n\tby relay.local (relay365) with ESMTP id ABC\r\n';
    const rewrite = { mailbox: 'relay@contoso.test', allowed: ['relay@contoso.test'] };
    for (const block of [
      'From: a@x.test\r\nSubject: s\r\n',
      'Subject: s\r\nFrom : a@x.test\r\n',
      'From\t:a@x.test\r\nFrom: b@x.test\r\n',
      'From: "A"\r\n <a@x.test>\r\n',
      'X-From: a@x.test\r\nSubject: s\r\n',
      'Subject: s\nFROM: a@x.test\n',
      'From\u000b: a@x.test\r\nSubject: s\r\n',
    ]) {
      const seen = fields(received + block).all('from');
      const out = headerFields(rewriteHeaderBlock(Buffer.from(received + block), rewrite)).all('from');
      expect({ block, seen: seen.length > 0, out: out.flatMap(headerFromAddresses) }).toEqual({
        block,
        seen: block.toLowerCase().includes('\nfrom') || block.toLowerCase().startsWith('from'),
        out: ['relay@contoso.test'],
      });
    }
  });
});
