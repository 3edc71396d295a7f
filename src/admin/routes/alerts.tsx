/**
 * The Alerts page, post/redirect/get: the settings form is checked with the
 * alert settings schema and re-rendered with its messages when it fails;
 * Send test alert sends a test notice on every channel and redirects to a
 * page that shows each channel's result. Changes need `Settings: Update
 * Settings`.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { toActiveAlert, type ChannelResult } from '../../alerts/engine.js';
import {
  ALERT_SETTING_KEYS,
  alertLocks,
  parseAlertSettings,
  storedAlertForm,
  type AlertSettingKey,
  type AlertSettingsForm,
  type AlertSettingsInput,
} from '../../alerts/settings-schema.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import type { AdminDeps, AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { formText } from '../form-text.js';
import { requirePermission } from '../middleware/require-permission.js';
import { can } from '../permissions.js';
import { AlertsPage } from '../views/alerts-page.js';

export interface AlertRouteOptions {
  config: Pick<Config, 'alertWebhookUrl' | 'alertEmails'>;
  store: StoreSlice<{ alerts: 'open' | 'recent' | 'saveSettings' | 'settings'; servers: 'list'; sessions: 'setFlash' }>;
  alerts: AdminDeps['alerts'];
  log: Logger;
  now: () => number;
}

const HISTORY_ROWS = 50;
/** Test results wait this long for the page the browser is redirected to. */
const TEST_RESULT_MS = 10 * 60_000;
const MAX_TEST_RESULTS = 50;

/** Routes under /alerts. */
export function alertRoutes({ config, store, alerts, log, now }: AlertRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const edit = requirePermission('updateSettings');
  const locks = alertLocks(config);
  /** Results of Send test alert by run id, for the page after the redirect (this session only). */
  const testRuns = new Map<string, { session: string; at: number; results: ChannelResult[] }>();

  const page = async (c: Context<AdminEnv>, form: AlertSettingsForm, testResults: ChannelResult[] | null, status: 200 | 422 = 200) => {
    const active = (await store.alerts.open()).map(toActiveAlert);
    const history = await store.alerts.recent(HISTORY_ROWS);
    const settings = await store.alerts.settings();
    const servers = await store.servers.list();
    return c.render(
      <AlertsPage
        active={active}
        history={history}
        settings={settings}
        locks={locks}
        servers={servers}
        testResults={testResults}
        canTest={alerts !== undefined}
        canEdit={can(c.var.user, 'updateSettings')}
        csrf={c.var.csrfToken}
        form={form}
      />,
      { title: 'Alerts', status },
    );
  };

  app.get('/', async (c) => {
    const run = testRuns.get(c.req.query('test') ?? '');
    const mine = run && run.session === c.var.session?.idHash && now() - run.at < TEST_RESULT_MS ? run.results : null;
    return page(c, storedAlertForm(await store.alerts.settings()), mine);
  });

  app.post('/', edit, async (c) => {
    const body = await c.req.parseBody();
    const input: AlertSettingsInput = {
      ...(Object.fromEntries(ALERT_SETTING_KEYS.map((key) => [key, formText(body, key)])) as Record<AlertSettingKey, string>),
      clearWebhook: body['clearWebhook'] !== undefined,
    };
    const { change, form } = parseAlertSettings(
      input,
      (await store.servers.list()).map((s) => s.id),
      locks,
    );
    if (!change) return page(c, form, null, 422);
    await store.alerts.saveSettings(change, now());
    log.info('alert settings changed', {
      webhook: change.webhookUrl === undefined ? 'kept' : change.webhookUrl === null ? 'removed' : 'set',
      emails: change.emails?.length,
      by: c.var.user?.email,
    });
    // New thresholds take effect at once (an alert the change ends is resolved).
    await alerts?.evaluateNow();
    await setFlash(c, store, { kind: 'success', message: 'Saved the alert settings.' });
    return c.redirect('/alerts', 303);
  });

  app.post('/test', edit, async (c) => {
    if (!alerts) return c.redirect('/alerts', 303);
    const results = await alerts.sendTest();
    const id = randomBytes(9).toString('base64url');
    for (const [key, run] of testRuns) if (now() - run.at >= TEST_RESULT_MS || testRuns.size >= MAX_TEST_RESULTS) testRuns.delete(key);
    testRuns.set(id, { session: c.var.session?.idHash ?? '', at: now(), results });
    return c.redirect(`/alerts?test=${id}`, 303);
  });

  return app;
}
