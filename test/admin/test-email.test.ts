/**
 * Send Test Email in the panel: post/redirect/get (a reload never sends
 * again), success and failure that look different, and a test that waits for
 * the mailbox's limits saying so.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestSendResult } from '../../src/admin/env.js';
import { plainServer } from '../helpers/fixture.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => {
  vi.useRealTimers();
  panel?.cleanup();
});

const form = { to: 'alice@fabrikam.com', subject: 'Hello', body: 'Testing' };
/** The class attribute of the result box. */
const resultClass = (html: string): string => /<div class="([^"]*)"[^>]*id="test-result"/.exec(html)?.[1] ?? '';

const start = async () => {
  panel = createPanel();
  panel.fx.store.sync.servers.add(plainServer({ name: 'o365', method: 'office365', mailbox: 'relay@contoso.com' }));
  return signedIn(panel, 'admin@example.com', { updateSettings: true });
};

describe('Send Test Email', () => {
  it('redirects to the result page, and reloading it shows the result without sending another mail', async () => {
    const agent = await start();
    const res = await agent.post('/servers/1/test', form);
    expect(res.status).toBe(303);
    expect(res.location).toMatch(/^\/servers\/1\/test\/[\w-]+$/);
    for (let reload = 0; reload < 3; reload++) {
      const page = await agent.get(res.location as string);
      expect(page.status).toBe(200);
      const text = visibleText(page.text);
      expect(text).toContain('Test email sent. 250 2.0.0 OK');
      expect(text).toContain('S: 235 2.7.0 Authentication successful');
    }
    expect(panel.relay.sendTest).toHaveBeenCalledTimes(1);
    expect(panel.relay.sendTest).toHaveBeenCalledWith(1, form, expect.any(Function));
  });

  it('shows success and failure in different colours and words', async () => {
    const agent = await start();
    const ok = await agent.get((await agent.post('/servers/1/test', form)).location as string);
    const failure: TestSendResult = {
      ok: false,
      reply: '535 5.7.3 Authentication unsuccessful',
      transcript: [],
      hint: null,
      messageId: 'T2',
    };
    panel.relay.sendTest.mockResolvedValueOnce(failure);
    const failed = await agent.get((await agent.post('/servers/1/test', form)).location as string);
    // `.flash` gives the box its border; `.test-result` came later in the stylesheet and reset its colour.
    expect(resultClass(ok.text).split(' ')).toEqual(expect.arrayContaining(['flash', 'flash-success']));
    expect(resultClass(failed.text).split(' ')).toEqual(expect.arrayContaining(['flash', 'flash-error']));
    expect(resultClass(ok.text)).not.toContain('test-result');
    expect(visibleText(failed.text)).toContain('Test email failed. 535 5.7.3');
  });

  it('says what a waiting test waits for, refreshing until its result is in', async () => {
    const agent = await start();
    let finish: (result: TestSendResult) => void = () => undefined;
    panel.relay.sendTest.mockImplementationOnce(
      (_id, _mail, onWait) =>
        new Promise((resolve) => {
          onWait?.('Waiting for Messages per Minute until 2026-12-02T10:00:00.000Z.');
          finish = resolve;
        }),
    );
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const posted = agent.post('/servers/1/test', form);
    await vi.advanceTimersByTimeAsync(5_000);
    const res = await posted;
    vi.useRealTimers();
    expect(res.status).toBe(303);
    const waiting = await agent.get(res.location as string);
    expect(visibleText(waiting.text)).toContain('Sending the test email… Waiting for Messages per Minute until 2026-12-02T10:00:00.000Z.');
    expect(waiting.text).toContain('<meta http-equiv="refresh" content="2"/>');
    finish({ ok: true, reply: '250 2.0.0 OK', transcript: [], hint: null, messageId: 'T3', waited: 'Waited for Messages per Minute.' });
    await new Promise((resolve) => setImmediate(resolve));
    const done = visibleText((await agent.get(res.location as string)).text);
    expect(done).toContain('Test email sent. 250 2.0.0 OK');
    expect(done).toContain('Waited for Messages per Minute.');
    expect(panel.relay.sendTest).toHaveBeenCalledTimes(1);
  });

  it('does not show a result page to another admin', async () => {
    const agent = await start();
    const res = await agent.post('/servers/1/test', form);
    const other = await signedIn(panel, 'other@example.com', { updateSettings: true });
    const page = visibleText((await other.get(res.location as string)).text);
    expect(page).toContain('This test result is no longer kept.');
    expect(page).not.toContain('Test email sent.');
  });
});
