/**
 * The Alerts page: the alerts that fire now, Send test alert with each
 * channel's result, the settings form (channels and thresholds; the webhook
 * URL write-only, channels set in the environment read-only) and the recent
 * history.
 */
import type { ActiveAlert, ChannelResult } from '../../alerts/engine.js';
import type { AlertLocks, AlertSettingsForm } from '../../alerts/settings-schema.js';
import type { AlertRecord, AlertSettings } from '../../store/alerts.js';
import type { EmailServer } from '../../store/servers.js';
import { AlertSettingsEditor } from './alert-settings-form.js';
import { CsrfField, Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface AlertsPageProps {
  active: ActiveAlert[];
  history: AlertRecord[];
  settings: AlertSettings;
  /** Settings the environment sets instead of the panel (a secret without its value). */
  locks: AlertLocks;
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

const HISTORY_COLUMNS: readonly Column<AlertRecord>[] = [
  {
    header: 'Alert',
    cell: (a) => (
      <>
        {a.title}
        {a.code ? ` (${a.code})` : ''}
      </>
    ),
  },
  {
    header: 'When',
    cell: (a) => (
      <>
        fired <Time at={a.firedAt} />
        <br />
        {a.resolvedAt === null ? (
          <strong>firing</strong>
        ) : (
          <>
            resolved <Time at={a.resolvedAt} />
          </>
        )}
      </>
    ),
  },
];

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
        <AlertSettingsEditor
          settings={props.settings}
          locks={props.locks}
          servers={props.servers}
          csrf={csrf}
          form={props.form}
          canEdit={canEdit}
        />
      </section>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Recent alerts</h2>
        <ListTable class="alert-history" columns={HISTORY_COLUMNS} rows={history} empty={<p>No alerts yet.</p>} />
      </section>
    </>
  );
}
