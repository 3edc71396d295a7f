import libmime from 'libmime';
import { describe, expect, it } from 'vitest';
import { buildTestMessage, testEmailSchema } from '../../src/relay/test-message.js';

const mail = { from: 'relay@contoso.test', to: 'alice@fabrikam.test', subject: 'Hello', body: 'It works.\n.dot line' };
const DATE = new Date('2026-12-06T17:31:05Z');

/** The header block's lines and the body of a built message. */
async function parts(overrides: Partial<typeof mail> = {}): Promise<{ raw: string; lines: string[]; body: string }> {
  const raw = (await buildTestMessage({ ...mail, ...overrides }, DATE)).toString('utf8');
  const end = raw.indexOf('\r\n\r\n');
  return { raw, lines: raw.slice(0, end).split('\r\n'), body: raw.slice(end + 4) };
}

/** A field's value with its continuation lines, as written. */
const field = (lines: string[], name: string): string => {
  const start = lines.findIndex((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  const end = lines.findIndex((line, i) => i > start && !/^[ \t]/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\r\n');
};

describe('the test email', () => {
  it('folds a 200-character CJK subject into encoded words of at most 75 characters that read back as the subject', async () => {
    const subject = '検証メール'.repeat(40);
    const { lines } = await parts({ subject });
    const written = field(lines, 'Subject');
    const words = written.match(/=\?[^?]+\?[BQ]\?[^?]*\?=/gi) ?? [];
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) expect(word.length).toBeLessThanOrEqual(75);
    for (const line of written.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(libmime.decodeWords(libmime.decodeHeader(written).value)).toBe(subject);
  });

  it('starts with From, To and Subject, dates the message and ends every line with CRLF', async () => {
    const { raw, lines, body } = await parts({ subject: 'Grüße – test' });
    expect(lines.slice(0, 3)).toEqual([
      'From: relay@contoso.test',
      'To: alice@fabrikam.test',
      'Subject: =?UTF-8?B?R3LDvMOfZSDigJMgdGVzdA==?=',
    ]);
    expect(lines).toContain('Date: Sun, 06 Dec 2026 17:31:05 +0000');
    expect(lines).toContain('X-Mailer: relay365 Send Test Email');
    expect(lines).toContain('MIME-Version: 1.0');
    expect(field(lines, 'Message-ID')).toMatch(/^Message-ID: <[^<>@\s]+@contoso\.test>$/);
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(body).toBe('It works.\r\n.dot line\r\n');
  });

  it('keeps a body that is not ASCII readable once decoded', async () => {
    const { lines, body } = await parts({ body: 'Grüße aus dem Büro\nZweite Zeile' });
    expect(lines).toContain('Content-Type: text/plain; charset=utf-8');
    expect(lines).toContain('Content-Transfer-Encoding: base64');
    expect(Buffer.from(body, 'base64').toString('utf8').replace(/\r\n/g, '\n')).toBe('Grüße aus dem Büro\nZweite Zeile');
  });

  it('refuses a recipient that is no address and a subject of two lines', () => {
    expect(testEmailSchema.safeParse({ to: 'alice@fabrikam' }).error?.issues[0]?.message).toBe(
      'Enter an email address such as admin@contoso.com.',
    );
    expect(testEmailSchema.safeParse({ to: 'alice@fabrikam.test', subject: 'a\r\nBcc: x@y.test' }).success).toBe(false);
    expect(testEmailSchema.parse({ to: ' alice@fabrikam.test ' })).toEqual({ to: 'alice@fabrikam.test', subject: '', body: '' });
  });
});
