/**
 * Send Test Email, post/redirect/get: the POST checks the form, starts the
 * test through the server's lane (it counts against the mailbox's limits) and
 * redirects to its result page. Reloading that page shows the result again
 * and never sends another mail; a test that waits for a limit shows why, and
 * the page refreshes itself until the result is in.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import type { Logger } from '../../log.js';
import type { AdminEnv, AdminRelay, TestSendResult } from '../env.js';
import { testEmailSchema } from '../../relay/test-message.js';
import { requirePermission } from '../middleware/require-permission.js';
import { formText } from '../form-text.js';
import type { TestForm } from '../views/server-page.js';
import { defaultTestForm, renderServerPage, serverNotFound, serverParam, type ServerViewOptions } from './server-view.js';

/** Results kept for their pages: the newest this many, each for an hour. */
const KEEP_RESULTS = 50;
const RESULT_TTL_MS = 60 * 60_000;
/** How long the POST waits for the result before redirecting (most tests take a second or two). */
const ANSWER_WITHIN_MS = 5_000;

export interface TestEmailRouteOptions extends ServerViewOptions {
  relay: AdminRelay;
  log: Logger;
}

/** One test email and, once it is in, its result. */
interface TestRun {
  serverId: number;
  /** Only the admin who sent it sees its result page. */
  userId: number | null;
  values: TestForm['values'];
  at: number;
  waiting: string | null;
  result: TestSendResult | null;
}

/** POST /servers/:id/test and GET /servers/:id/test/:run, mounted under /servers. */
export function testEmailRoutes(options: TestEmailRouteOptions): Hono<AdminEnv> {
  const { store, relay, log, now } = options;
  const runs = new Map<string, TestRun>();
  const remember = (key: string, run: TestRun): void => {
    runs.set(key, run);
    for (const [old, r] of runs) if (runs.size > KEEP_RESULTS || r.at < now() - RESULT_TTL_MS) runs.delete(old);
  };

  const app = new Hono<AdminEnv>();
  app.post('/:id{[0-9]+}/test', requirePermission('updateSettings'), async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    const body = await c.req.parseBody();
    const values = { to: formText(body, 'to'), subject: formText(body, 'subject'), body: formText(body, 'body') };
    const test: TestForm = { values, errors: {}, result: null };
    const checked = testEmailSchema.safeParse(values);
    if (!checked.success) {
      for (const issue of checked.error.issues) test.errors[issue.path[0] as keyof TestForm['errors']] ??= issue.message;
      return renderServerPage(c, options, server, test, 422);
    }

    const key = randomBytes(12).toString('base64url');
    const run: TestRun = { serverId: server.id, userId: c.var.user?.id ?? null, values, at: now(), waiting: null, result: null };
    remember(key, run);
    const by = c.var.user?.email;
    const done = relay
      .sendTest(server.id, { to: values.to, subject: values.subject || 'relay365 test email', body: values.body }, (why) => {
        run.waiting = why;
      })
      .catch((err: unknown): TestSendResult => ({ ok: false, reply: (err as Error).message, transcript: [], hint: null, messageId: null }))
      .then((result) => {
        run.result = result;
        log.info('test email sent', { server: server.name, to: values.to, ok: result.ok, by });
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, ANSWER_WITHIN_MS)))]);
    clearTimeout(timer);
    return c.redirect(`/servers/${server.id}/test/${key}`, 303);
  });

  app.get('/:id{[0-9]+}/test/:run{[A-Za-z0-9_-]+}', requirePermission('updateSettings'), async (c) => {
    const server = await serverParam(c, store);
    if (!server) return serverNotFound(c);
    const run = runs.get(c.req.param('run'));
    if (!run || run.serverId !== server.id || run.userId !== (c.var.user?.id ?? null)) {
      const test = {
        ...defaultTestForm(server, c.var.user?.email ?? ''),
        notice: 'This test result is no longer kept. Send another test email.',
      };
      return renderServerPage(c, options, server, test);
    }
    const test: TestForm = { values: run.values, errors: {}, result: run.result, pending: run.result ? null : (run.waiting ?? '') };
    return renderServerPage(c, options, (await store.servers.get(server.id)) ?? server, test);
  });
  return app;
}
