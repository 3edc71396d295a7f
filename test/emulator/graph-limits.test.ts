// Outlook's throttling of Graph mail in the emulator: concurrency, requests and upload bytes per window, daily recipients.
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { graphAppToken, mimeMessage, sendMime, type GraphReply } from './graph-client.js';
import { emulatorPerTest } from './test-context.js';

const ctx = emulatorPerTest();

/** Sends `count` messages at once while the emulator holds admitted requests; returns the replies once released. */
async function sendWhileHeld(mailboxes: string[]): Promise<GraphReply[]> {
  const hold = ctx.emu.graph.holdRequests();
  try {
    const token = graphAppToken(ctx.emu);
    const pending = mailboxes.map((mailbox) =>
      sendMime(ctx.emu, mimeMessage([`From: ${mailbox}`, 'To: someone@fabrikam.test']), token, mailbox),
    );
    await ctx.emu.graph.waitForRequests(mailboxes.length, 5000);
    hold.release();
    return await Promise.all(pending);
  } finally {
    hold.release();
  }
}

describe('concurrency', () => {
  it('admits 4 requests of an app at once and answers the others 429 MailboxConcurrency with Retry-After', async () => {
    const replies = await sendWhileHeld(Array.from({ length: 6 }, () => SEED.mailbox));
    expect(replies.map((r) => r.status).sort()).toEqual([202, 202, 202, 202, 429, 429]);
    const throttled = replies.filter((r) => r.status === 429);
    expect(throttled.map((r) => [r.code, r.message, r.headers.get('retry-after')])).toEqual(
      Array.from({ length: 2 }, () => ['ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', '1']),
    );
    expect(ctx.emu.graph.requests.filter((r) => r.status === 429).every((r) => r.concurrent > 4)).toBe(true);
    expect(ctx.emu.graph.peakConcurrency).toBeGreaterThanOrEqual(5);
    expect(ctx.emu.graph.peakConcurrencyByKey.get(SEED.clientId)).toBe(ctx.emu.graph.peakConcurrency);
    expect(ctx.emu.graph.inFlight()).toBe(0);
  });

  it('counts per app across its mailboxes by default, and per mailbox when set', async () => {
    ctx.emu.directory.addUser(SEED.tenantId, { address: 'printers@contoso.test', shared: true });
    ctx.emu.graph.settings.maxConcurrentRequests = 1;
    const perApp = await sendWhileHeld([SEED.mailbox, 'printers@contoso.test']);
    expect(perApp.map((r) => r.status).sort()).toEqual([202, 429]);
    ctx.emu.graph.settings.concurrencyScope = 'mailbox';
    const perMailbox = await sendWhileHeld([SEED.mailbox, 'printers@contoso.test']);
    expect(perMailbox.map((r) => r.status)).toEqual([202, 202]);
    expect(ctx.emu.graph.peakConcurrencyByKey.get(`${SEED.clientId} printers@contoso.test`)).toBe(1);
  });
});

describe('windows', () => {
  it('answers requests over the per-mailbox window with 429 until the Retry-After has passed', async () => {
    ctx.emu.graph.settings.requestsPerWindow = 3;
    const start = ctx.clock;
    for (let i = 0; i < 3; i++) expect((await sendMime(ctx.emu, mimeMessage())).status).toBe(202);
    const over = await sendMime(ctx.emu, mimeMessage());
    expect([over.status, over.code, over.headers.get('retry-after')]).toEqual([429, 'ApplicationThrottled', '600']);
    ctx.clock += 599_000;
    expect((await sendMime(ctx.emu, mimeMessage())).headers.get('retry-after')).toBe('1');
    ctx.clock += 1000;
    expect((await sendMime(ctx.emu, mimeMessage())).status).toBe(202);
    expect(ctx.emu.graph.requests.map((r) => [r.at - start, r.status, r.retryAfterSeconds])).toEqual([
      [0, 202, undefined],
      [0, 202, undefined],
      [0, 202, undefined],
      [0, 429, 600],
      [599_000, 429, 1],
      [600_000, 202, undefined],
    ]);
  });

  it('answers uploads over the byte window with 429 IncomingBytes', async () => {
    const mime = mimeMessage();
    const bytes = Buffer.from(Buffer.from(mime).toString('base64')).length;
    ctx.emu.graph.settings.uploadBytesPerWindow = bytes * 2;
    expect((await sendMime(ctx.emu, mime)).status).toBe(202);
    expect((await sendMime(ctx.emu, mime)).status).toBe(202);
    const over = await sendMime(ctx.emu, mime);
    expect([over.status, over.message, over.headers.get('retry-after')]).toEqual([
      429,
      'Application is over its IncomingBytes limit.',
      '300',
    ]);
    ctx.clock += 300_000;
    expect((await sendMime(ctx.emu, mime)).status).toBe(202);
  });

  it("counts the mailbox's daily recipients together with SMTP and refuses beyond them", async () => {
    ctx.emu.graph.settings.recipientsPerDay = 3;
    const two = mimeMessage([`From: ${SEED.mailbox}`, 'To: a@fabrikam.test, b@fabrikam.test']);
    expect((await sendMime(ctx.emu, two)).status).toBe(202);
    expect(ctx.emu.exchange.recipientsLastDay(SEED.mailbox)).toBe(2);
    const over = await sendMime(ctx.emu, two);
    expect([over.status, over.code, over.headers.get('retry-after')]).toEqual([429, 'ErrorSubmissionQuotaExceeded', '3600']);
    ctx.clock += 24 * 3600 * 1000;
    expect((await sendMime(ctx.emu, two)).status).toBe(202);
    ctx.emu.graph.exceedQuota(SEED.mailbox);
    expect((await sendMime(ctx.emu, mimeMessage())).code).toBe('ErrorSubmissionQuotaExceeded');
  });
});
