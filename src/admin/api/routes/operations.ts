/**
 * /api/v1 operations: send a test email through an email server (answered
 * with the SMTP conversation, AUTH redacted), the alerts that fire and the
 * recent ones, and the relay's readiness (the body and status of /readyz).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { toActiveAlert } from '../../../alerts/engine.js';
import { CHECK_NAMES, readinessStatus } from '../../../ops/health.js';
import { testEmailSchema } from '../../../relay/test-message.js';
import type { AlertRecord } from '../../../store/alerts.js';
import type { StoreSlice } from '../../../store/index.js';
import type { ApiEnv, ApiRouteDeps } from '../env.js';
import { errorResponses, notFound } from '../errors.js';
import { json } from '../openapi.js';
import { hintSchema, idParams } from '../schemas.js';

const RECENT_ALERTS = 50;

const testEmail = createRoute({
  method: 'post',
  path: '/servers/{id}/test-email',
  tags: ['Email servers'],
  summary: 'Send a test email now through the email server; answers with the SMTP conversation',
  request: {
    params: idParams,
    body: { content: { 'application/json': { schema: testEmailSchema.openapi('TestEmail') } }, required: true },
  },
  responses: {
    200: json(
      z
        .object({
          ok: z.boolean(),
          reply: z.string().meta({ description: "Microsoft's last reply, or why the test could not be sent." }),
          hint: hintSchema,
          queueId: z.string().nullable(),
          waited: z.string().optional().meta({ description: 'Why the test had to wait for the mailbox limits first.' }),
          transcript: z.array(z.string()).meta({ description: 'The SMTP conversation, AUTH redacted.' }),
        })
        .openapi('TestEmailResult'),
      'What the upstream answered (ok false is still a 200: the test ran)',
    ),
    ...errorResponses('invalid', 'unauthorized', 'forbidden', 'not_found'),
  },
});

const alertSchema = z
  .object({
    key: z.string(),
    severity: z.string(),
    title: z.string(),
    server: z.string().nullable(),
    code: z.string().nullable(),
    fix: z.string().nullable(),
    detail: z.string().nullable(),
    firedAt: z.iso.datetime(),
    resolvedAt: z.iso.datetime().nullable(),
  })
  .openapi('Alert');
/** An alert as the API shows it: what the pages show, with both times. */
function alertOut(a: AlertRecord): z.input<typeof alertSchema> {
  const { since, ...shown } = toActiveAlert(a);
  return {
    ...shown,
    firedAt: new Date(since).toISOString(),
    resolvedAt: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
  };
}

const alerts = createRoute({
  method: 'get',
  path: '/alerts',
  tags: ['Operations'],
  summary: 'The alerts that fire now, and the most recent ones',
  responses: {
    200: json(z.object({ active: z.array(alertSchema), recent: z.array(alertSchema) }), 'Alerts'),
    ...errorResponses('unauthorized'),
  },
});

const checkName = z.enum(CHECK_NAMES);
const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not ready']),
    failed: z.array(checkName).meta({ description: 'The checks that failed.' }),
    checks: z.record(
      checkName,
      z.object({
        ok: z.boolean(),
        detail: z.string().meta({ description: 'What was found, e.g. `takes writes` or `12 MB free, 100 MB needed`.' }),
      }),
    ),
  })
  .openapi('Readiness');
const health = createRoute({
  method: 'get',
  path: '/health',
  tags: ['Operations'],
  summary: 'Readiness, as GET /readyz: the database takes writes, the SMTP listener accepts, the data folder has room',
  responses: {
    200: json(readinessSchema, 'Ready: every check passed'),
    503: json(readinessSchema, 'Not ready: `failed` names the checks that did not pass'),
    ...errorResponses('unauthorized', 'not_found'),
  },
});

/** The test email, alert and health routes. */
export function operationsApi({
  store,
  relay,
  log,
  ops,
}: ApiRouteDeps<StoreSlice<{ servers: 'get'; alerts: 'open' | 'recent' }>>): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();

  app.openapi(testEmail, async (c) => {
    const server = await store.servers.get(c.req.valid('param').id);
    if (!server) throw notFound(`email server with ID ${c.req.valid('param').id}`);
    const mail = c.req.valid('json');
    const result = await relay
      .sendTest(server.id, { to: mail.to, subject: mail.subject || `relay365 test email via ${server.name}`, body: mail.body })
      .catch((err: unknown) => ({ ok: false, reply: (err as Error).message, transcript: [], hint: null, messageId: null }));
    log.info('test email sent', { server: server.name, to: mail.to, ok: result.ok, by: `API token ${c.var.apiToken.name}` });
    const { messageId, ...rest } = result;
    return c.json({ ...rest, queueId: messageId }, 200);
  });

  app.openapi(alerts, async (c) => {
    const active = (await store.alerts.open()).map(alertOut);
    const recent = (await store.alerts.recent(RECENT_ALERTS)).map(alertOut);
    return c.json({ active, recent }, 200);
  });

  app.openapi(health, async (c) => {
    // Without the operations wiring (an API built without a relay, in tests) /readyz is not served either.
    if (!ops) throw notFound('readiness check without the relay');
    const readiness = await ops.health.ready();
    return c.json(readiness, readinessStatus(readiness), { 'Cache-Control': 'no-store' });
  });

  return app;
}
