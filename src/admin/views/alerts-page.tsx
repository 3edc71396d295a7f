/**
 * The Alerts page: the alerts that fire now, Send test alert with each
 * channel's result, the settings form (channels and thresholds; the webhook
 * URL write-only, channels set in the environment read-only) and the recent
 * history.
 */
import type { ActiveAlert, ChannelResult } from '../../alerts/engine.js';
import type { AlertSettingsForm } from '../../alerts/settings-schema.js';
import type { AlertRecord, AlertSettings } from '../../store/alerts.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField, FieldError, Time } from './components.js';

export interface AlertsPageProps {
  active: ActiveAlert[];
  history: AlertRecord[];
  settings: AlertSettings;
  /** Channels set in the environment: the webhook (never its URL) and the addresses. */
  env: { webhook: boolean; emails: readonly string[] };
  servers: EmailServer[];
  testResults: ChannelResult[] | null;
  /** Whether Send test alert can run (the alerts engine is running). */
  canTest: boolean;
  canEdit: boolean;
  csrf: string;
  form: AlertSettingsForm;
}

const CHANNEL_LABEL = { webhook: 'Webhook', email: 'Email' } as const;

function ActiveList({ active }: { active: ActiveAlert[] }) {
  if (active.length === 0) return <p>No alert fires now.</p>;
  return (
    <ul class="alerts">
      {active.map((a) => (
        <li class={`alert alert-${a.severity}`}>
          <p>
            <strong>{a.title}</strong> <span class="badge">{a.severity}</span>
          </p>
          {a.code ? <p>Microsoft code: {a.code}</p> : null}
          {a.detail ? <p>{a.detail}</p> : null}
          {a.fix ? <p>How to fix it: {a.fix}</p> : null}
          <p class="muted">
            Since <Time at={a.since} />
          </p>
        </li>
      ))}
    </ul>
  );
}

function TestResults({ results }: { results: ChannelResult[] }) {
  if (results.every((r) => !r.configured)) {
    return (
      <div class="test-result flash flash-error" role="alert">
        <p>
          <strong>No test alert was sent: no alert channel is set.</strong> Enter a webhook URL or admin email addresses under Settings,
          save them, then send a test alert.
        </p>
      </div>
    );
  }
  return (
    <div class="test-result" role="status">
      <p>
        <strong>Test alert</strong>
      </p>
      <ul>
        {results.map((r) => (
          <li data-channel={r.channel}>
            {CHANNEL_LABEL[r.channel]}: {r.configured ? (r.ok ? 'sent. ' : 'failed. ') : 'not set. '}
            {r.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function NumberField({
  id,
  name,
  label,
  value,
  error,
  help,
}: {
  id: string;
  name: string;
  label: string;
  value: string;
  error?: string;
  help: string;
}) {
  return (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        inputmode="numeric"
        required
        value={value}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${id}-error ${id}-help`}
      />
      <p class="help" id={`${id}-help`}>
        {help}
      </p>
      <FieldError id={id} message={error} />
    </>
  );
}

function SettingsForm({
  settings,
  env,
  servers,
  csrf,
  form,
  canEdit,
}: Omit<AlertsPageProps, 'active' | 'history' | 'testResults' | 'canTest'>) {
  const { values, errors } = form;
  const webhookSet = env.webhook || settings.hasWebhook;
  return (
    <form method="post" action="/alerts" class="narrow">
      <CsrfField token={csrf} />
      <fieldset disabled={!canEdit}>
        <legend>Channels</legend>
        <label for="alert-webhook">Webhook URL</label>
        {env.webhook ? (
          <p id="alert-webhook">Set by RELAY365_ALERT_WEBHOOK_URL.</p>
        ) : (
          <>
            <input
              id="alert-webhook"
              name="webhookUrl"
              type="password"
              autocomplete="off"
              placeholder={settings.hasWebhook ? 'set (enter a new URL to replace it)' : 'not set'}
              aria-invalid={errors.webhookUrl ? 'true' : undefined}
              aria-describedby="alert-webhook-error alert-webhook-help"
            />
            <p class="help" id="alert-webhook-help">
              {webhookSet ? 'Set. ' : 'Not set. '}A Microsoft Teams or Slack incoming-webhook URL works; it gets a JSON POST per notice. It
              is stored encrypted and never shown again.
            </p>
            <FieldError id="alert-webhook" message={errors.webhookUrl} />
            {settings.hasWebhook ? (
              <label class="check">
                <input type="checkbox" name="clearWebhook" value="1" /> Remove the webhook URL
              </label>
            ) : null}
          </>
        )}
        <label for="alert-emails">Admin email addresses</label>
        {env.emails.length > 0 ? (
          <p id="alert-emails">Set by RELAY365_ALERT_EMAIL: {env.emails.join(', ')}</p>
        ) : (
          <>
            <textarea
              id="alert-emails"
              name="emails"
              rows={2}
              aria-invalid={errors.emails ? 'true' : undefined}
              aria-describedby="alert-emails-error alert-emails-help"
            >
              {values.emails}
            </textarea>
            <p class="help" id="alert-emails-help">
              Separated by commas or new lines; empty: no alert emails.
            </p>
            <FieldError id="alert-emails" message={errors.emails} />
          </>
        )}
        <label for="alert-server">Send alert email through</label>
        <select
          id="alert-server"
          name="emailServerId"
          aria-invalid={errors.emailServerId ? 'true' : undefined}
          aria-describedby="alert-server-error alert-server-help"
        >
          <option value="" selected={values.emailServerId === ''}>
            the default email server
          </option>
          {servers.map((s) => (
            <option value={String(s.id)} selected={values.emailServerId === String(s.id)}>
              {s.name}
            </option>
          ))}
        </select>
        <p class="help" id="alert-server-help">
          When this server is the one that is broken, alert email goes through another authorized server.
        </p>
        <FieldError id="alert-server" message={errors.emailServerId} />
      </fieldset>
      <fieldset disabled={!canEdit}>
        <legend>When to alert</legend>
        <NumberField
          id="alert-oldest"
          name="oldestMinutes"
          label="Oldest waiting message (minutes)"
          value={values.oldestMinutes}
          error={errors.oldestMinutes}
          help="Alert when a message has waited longer than this."
        />
        <NumberField
          id="alert-failures"
          name="failuresPerHour"
          label="Failed messages per hour"
          value={values.failuresPerHour}
          error={errors.failuresPerHour}
          help="Alert when this many messages failed within the last hour."
        />
        <NumberField
          id="alert-repeat"
          name="repeatMinutes"
          label="Repeat interval (minutes)"
          value={values.repeatMinutes}
          error={errors.repeatMinutes}
          help="An alert that lasts is sent again this often; client secret expiry warnings are sent once."
        />
      </fieldset>
      {canEdit ? <button type="submit">Save alert settings</button> : null}
    </form>
  );
}

function History({ history }: { history: AlertRecord[] }) {
  if (history.length === 0) return <p>No alerts yet.</p>;
  return (
    <table class="list alert-history">
      <thead>
        <tr>
          <th scope="col">Alert</th>
          <th scope="col">When</th>
        </tr>
      </thead>
      <tbody>
        {history.map((a) => (
          <tr>
            <td>
              {a.title}
              {a.code ? ` (${a.code})` : ''}
            </td>
            <td>
              fired <Time at={a.firedAt} />
              <br />
              {a.resolvedAt === null ? (
                <strong>firing</strong>
              ) : (
                <>
                  resolved <Time at={a.resolvedAt} />
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AlertsPage(props: AlertsPageProps) {
  const { active, history, testResults, canTest, canEdit, csrf } = props;
  return (
    <>
      <p class="lead">
        relay365 watches its email servers, the queue, failures and SMTP AUTH lockouts, and tells you on a webhook and by email when
        something needs you: once when it starts, again every repeat interval while it lasts, and once when it is resolved.
      </p>
      <section aria-labelledby="active-heading">
        <h2 id="active-heading">Active alerts</h2>
        <ActiveList active={active} />
      </section>
      {canEdit ? (
        <section aria-labelledby="test-heading">
          <h2 id="test-heading">Send test alert</h2>
          {testResults ? <TestResults results={testResults} /> : null}
          {canTest ? (
            <form method="post" action="/alerts/test" class="inline">
              <CsrfField token={csrf} />
              <button type="submit">Send test alert</button>
            </form>
          ) : (
            <p class="muted">Alerts are not running in this process.</p>
          )}
        </section>
      ) : null}
      <section aria-labelledby="settings-heading">
        <h2 id="settings-heading">Settings</h2>
        <SettingsForm {...props} />
      </section>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Recent alerts</h2>
        <History history={history} />
      </section>
    </>
  );
}
