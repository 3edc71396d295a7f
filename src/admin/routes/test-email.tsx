/**
 * Send Test Email: sends through the server's real delivery path right away
 * and answers with the server page showing the reply, the SMTP conversation
 * and, on failure, the fix.
 */
import { Hono } from 'hono';
import type { Logger } from '../../log.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { checkEmail } from '../accounts.js';
import { requirePermission } from '../middleware/require-permission.js';
import { formText } from '../form-text.js';
import type { TestForm } from '../views/server-page.js';
import { renderServerPage, serverNotFound, serverParam, type ServerViewOptions } from './server-view.js';

export interface TestEmailRouteOptions extends ServerViewOptions {
  relay: AdminRelay;
  log: Logger;
}

/** POST /servers/:id/test, mounted under /servers. */
export function testEmailRoutes(options: TestEmailRouteOptions): Hono<AdminEnv> {
  const { store, relay, log } = options;
  const app = new Hono<AdminEnv>();
  app.post('/:id{[0-9]+}/test', requirePermission('updateSettings'), async (c) => {
    const server = serverParam(c, store);
    if (!server) return serverNotFound(c);
    const body = await c.req.parseBody();
    const values = { to: formText(body, 'to'), subject: formText(body, 'subject'), body: formText(body, 'body') };
    const test: TestForm = { values, errors: {}, result: null };
    const toProblem = checkEmail(values.to);
    if (toProblem) test.errors.to = toProblem;
    if (values.subject.length > 200 || /[\r\n]/.test(values.subject)) test.errors.subject = 'Use one line of at most 200 characters.';
    if (values.body.length > 10_000) test.errors.body = 'Use at most 10,000 characters.';
    if (Object.keys(test.errors).length > 0) return renderServerPage(c, options, server, test, 422);
    try {
      test.result = await relay.sendTest(server.id, { to: values.to, subject: values.subject || 'relay365 test email', body: values.body });
    } catch (err) {
      test.result = { ok: false, reply: (err as Error).message, transcript: [], hint: null, messageId: null };
    }
    log.info('test email sent', { server: server.name, to: values.to, ok: test.result.ok, by: c.var.user?.email });
    return renderServerPage(c, options, store.servers.get(server.id) ?? server, test);
  });
  return app;
}
