// Drafts, small attachments, upload sessions with byte ranges, and sending a draft, over real HTTPS.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { graphAppToken, graphRequest, type GraphReply } from './graph-client.js';
import { emulatorPerTest } from './test-context.js';

const ctx = emulatorPerTest();
const MESSAGES = `/v1.0/users/${SEED.mailbox}/messages`;
const CHUNK = 10 * 320 * 1024;
const TEN_MB = 10 * 1024 * 1024;

function createDraft(message: Record<string, unknown> = {}): Promise<GraphReply> {
  return graphRequest(ctx.emu, MESSAGES, {
    token: graphAppToken(ctx.emu),
    json: {
      subject: 'Large scan',
      body: { contentType: 'Text', content: 'See attachment.' },
      toRecipients: [{ emailAddress: { address: 'someone@fabrikam.test' } }],
      bccRecipients: [{ emailAddress: { address: 'envelope-only@fabrikam.test' } }],
      ...message,
    },
  });
}

async function draftId(): Promise<string> {
  const reply = await createDraft();
  expect(reply.status).toBe(201);
  return String(reply.json?.['id']);
}

function uploadSession(id: string, item: Record<string, unknown>): Promise<GraphReply> {
  return graphRequest(ctx.emu, `${MESSAGES}/${id}/attachments/createUploadSession`, {
    token: graphAppToken(ctx.emu),
    json: { AttachmentItem: { attachmentType: 'file', ...item } },
  });
}

async function uploadUrl(id: string, size: number, name = 'scan.pdf'): Promise<string> {
  const reply = await uploadSession(id, { name, size, contentType: 'application/pdf' });
  expect(reply.status).toBe(201);
  return String(reply.json?.['uploadUrl']);
}

function put(url: string, bytes: Buffer, start: number, total: number, headers: Record<string, string> = {}): Promise<GraphReply> {
  return graphRequest(ctx.emu, url, {
    method: 'PUT',
    body: bytes,
    contentType: 'application/octet-stream',
    headers: { 'content-range': `bytes ${start}-${start + bytes.length - 1}/${total}`, ...headers },
  });
}

describe('drafts and upload sessions', () => {
  it('uploads a 10 MB attachment in 320 KiB multiples and sends the draft with every byte', async () => {
    const id = await draftId();
    expect(ctx.emu.graph.drafts).toHaveLength(1);
    const small = await graphRequest(ctx.emu, `${MESSAGES}/${id}/attachments`, {
      token: graphAppToken(ctx.emu),
      json: {
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: 'note.txt',
        contentType: 'text/plain',
        contentBytes: Buffer.from('hi').toString('base64'),
      },
    });
    expect([small.status, small.json?.['size']]).toEqual([201, 2]);
    const session = await uploadSession(id, { name: 'scan.pdf', size: TEN_MB, contentType: 'application/pdf' });
    expect(session.json).toMatchObject({ nextExpectedRanges: ['0-'], expirationDateTime: expect.stringMatching(/^\d{4}-/) });
    const url = String(session.json?.['uploadUrl']);
    expect(url).toMatch(
      new RegExp(
        `^${ctx.emu.graphUrl}/api/v2\\.0/Users\\('${SEED.mailboxOid}@${SEED.tenantId}'\\)/Messages\\('[^']+'\\)/AttachmentSessions\\('[^']+'\\)\\?authtoken=`,
      ),
    );
    const file = randomBytes(TEN_MB);
    const statuses: number[] = [];
    for (let start = 0; start < TEN_MB; start += CHUNK) {
      const reply = await put(url, file.subarray(start, Math.min(start + CHUNK, TEN_MB)), start, TEN_MB);
      statuses.push(reply.status);
      if (reply.status === 200) expect(reply.json?.['NextExpectedRanges']).toEqual([String(start + CHUNK)]);
      else expect(reply.headers.get('location')).toMatch(/\/Attachments\('/);
    }
    expect(statuses).toEqual([200, 200, 200, 201]);
    const sent = await graphRequest(ctx.emu, `${MESSAGES}/${id}/send`, { token: graphAppToken(ctx.emu), method: 'POST' });
    expect([sent.status, sent.json]).toEqual([202, undefined]);
    const [message] = await ctx.emu.graph.waitForMessages(1, 2000);
    expect(message).toMatchObject({
      via: 'draft',
      recipients: ['someone@fabrikam.test', 'envelope-only@fabrikam.test'],
      subject: 'Large scan',
      body: { contentType: 'text', content: 'See attachment.' },
      savedToSentItems: true,
    });
    expect(message?.attachments.map((a) => [a.name, a.contentType, a.bytes.length])).toEqual([
      ['note.txt', 'text/plain', 2],
      ['scan.pdf', 'application/pdf', TEN_MB],
    ]);
    expect(message?.attachments[1]?.bytes.equals(file)).toBe(true);
    expect(ctx.emu.graph.drafts).toEqual([]);
    // Upload PUTs carry no token, yet count for the app and mailbox of their session.
    expect(ctx.emu.graph.requests.filter((r) => r.route === 'upload').map((r) => [r.clientId, r.mailbox, r.authorization])).toEqual(
      Array.from({ length: 4 }, () => [SEED.clientId, SEED.mailbox, false]),
    );
  });

  it('needs Mail.ReadWrite for drafts and names it', async () => {
    ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).graphApplicationPermissions = ['Mail.Send'];
    const reply = await createDraft();
    expect([reply.status, reply.code]).toEqual([403, 'ErrorAccessDenied']);
    expect(reply.message).toContain('Mail.ReadWrite');
  });

  it('refuses an upload session for an attachment under 3 MB or one that makes the message too large', async () => {
    const id = await draftId();
    const tiny = await uploadSession(id, { name: 'a.txt', size: 1024 });
    expect([tiny.status, tiny.code]).toEqual([400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize']);
    const huge = await uploadSession(id, { name: 'big.iso', size: 30 * 1024 * 1024 });
    expect([huge.status, huge.code]).toEqual([413, 'ErrorMessageSizeExceeded']);
  });

  it('refuses a token on the upload URL, a range that is not a 320 KiB multiple, a gap, and more than 4 MB', async () => {
    const id = await draftId();
    const size = 4 * 1024 * 1024;
    const url = await uploadUrl(id, size);
    const bytes = randomBytes(size);
    const withToken = await put(url, bytes.subarray(0, CHUNK), 0, size, { authorization: `Bearer ${graphAppToken(ctx.emu)}` });
    expect([withToken.status, withToken.code]).toEqual([401, 'InvalidAudienceForResource']);
    const odd = await put(url, bytes.subarray(0, 100_000), 0, size);
    expect([odd.status, odd.code]).toEqual([400, 'BadRequest']);
    const gap = await put(url, bytes.subarray(CHUNK, 2 * CHUNK), CHUNK, size);
    expect([gap.status, gap.code]).toEqual([416, 'InvalidRange']);
    ctx.emu.graph.settings.maxRequestBytes = CHUNK;
    const tooBig = await put(url, bytes.subarray(0, CHUNK + 320 * 1024), 0, size);
    expect([tooBig.status, tooBig.code]).toEqual([413, 'RequestBodyTooLarge']);
    expect((await put(url, bytes.subarray(0, CHUNK), 0, size)).status).toBe(200);
  });

  it('forgets an upload URL once it expired, and sends a draft without an unfinished attachment', async () => {
    const id = await draftId();
    const size = 4 * 1024 * 1024;
    const url = await uploadUrl(id, size);
    expect((await put(url, randomBytes(CHUNK), 0, size)).status).toBe(200);
    ctx.clock += ctx.emu.graph.settings.uploadSessionLifetimeSeconds * 1000;
    const expired = await put(url, randomBytes(CHUNK), CHUNK, size);
    expect([expired.status, expired.code]).toEqual([404, 'ErrorItemNotFound']);
    expect((await graphRequest(ctx.emu, `${MESSAGES}/${id}/send`, { token: graphAppToken(ctx.emu), method: 'POST' })).status).toBe(202);
    expect(ctx.emu.graph.messages[0]?.attachments).toEqual([]);
  });

  it('answers ErrorItemNotFound for an unknown draft and ErrorInvalidRecipients for a draft without recipients', async () => {
    const unknown = await graphRequest(ctx.emu, `${MESSAGES}/AAMkAnothing/send`, { token: graphAppToken(ctx.emu), method: 'POST' });
    expect([unknown.status, unknown.code]).toEqual([404, 'ErrorItemNotFound']);
    const empty = await createDraft({ toRecipients: [], bccRecipients: [] });
    const sent = await graphRequest(ctx.emu, `${MESSAGES}/${String(empty.json?.['id'])}/send`, {
      token: graphAppToken(ctx.emu),
      method: 'POST',
    });
    expect([sent.status, sent.code]).toEqual([400, 'ErrorInvalidRecipients']);
    expect(ctx.emu.graph.drafts).toHaveLength(1);
  });
});
