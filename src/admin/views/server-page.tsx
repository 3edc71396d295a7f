/**
 * One email server: Authorize Account, Send Test Email and Check Configuration
 * at the top, then every setting with its label, value and edit icon (edit
 * icons only for users who may change settings; the SMTP connection settings
 * marked unused while the server sends via Microsoft Graph), and the queue for
 * this server.
 */
import type { Child } from 'hono/jsx';
import { resolveCloud } from '../../auth/clouds.js';
import type { ServerDiagnosis } from '../../doctor/report.js';
import type { MessageStatus } from '../../store/queue.js';
import type { EmailServer } from '../../store/servers.js';
import type { TestSendResult } from '../env.js';
import { describeExpiry, type SecretWarning } from '../secret-expiry.js';
import { CUSTOM_CLOUD_LABELS, displayValue, FIELDS, type FieldSpec } from '../server-fields.js';
import { CheckConfigSection } from './check-config.js';
import { CsrfField, EditLink, FieldError, StatusLabel, Time } from './components.js';

export interface TestForm {
  values: { to: string; subject: string; body: string };
  errors: Partial<Record<'to' | 'subject' | 'body', string>>;
  result: TestSendResult | null;
  /** A test still on its way: what it waits for (the page refreshes itself until it is done). */
  pending?: string | null;
  /** Shown instead of a result that is no longer kept. */
  notice?: string | null;
}

export interface ServerPageProps {
  server: EmailServer;
  redirectUri: string;
  canEdit: boolean;
  csrf: string;
  counts: Record<MessageStatus, number>;
  warning: SecretWarning | null;
  missingForAuthorize: string[];
  test: TestForm;
  /** The result of Check Configuration, just run. */
  diagnosis?: ServerDiagnosis | null;
}

/** The SMTP connection settings, which a server that sends via Microsoft Graph does not use. */
const UNUSED_VIA_GRAPH: ReadonlySet<string> = new Set(['host', 'port', 'secure']);

const viaGraph = (server: EmailServer): boolean => server.method === 'office365' && server.sendVia === 'graph';

function SettingRow({ label, value, edit, children }: { label: string; value?: string; edit: string | null; children?: Child }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>{children ?? value}</td>
      <td class="actions">{edit ? <EditLink href={edit} label={label} /> : null}</td>
    </tr>
  );
}

function AuthorizeSection({ server, canEdit, csrf, missing }: { server: EmailServer; canEdit: boolean; csrf: string; missing: string[] }) {
  if (server.method !== 'office365' || server.signInMode !== 'authorize') return null;
  const ready = missing.length === 0;
  return (
    <div class="action-box">
      <form method="post" action={`/servers/${server.id}/authorize`}>
        <CsrfField token={csrf} />
        <button type="submit" disabled={!ready || !canEdit}>
          Authorize Account
        </button>
      </form>
      {!ready ? <p class="muted">Set {missing.join(', ')} first; then sign in at Microsoft with the account that sends the mail.</p> : null}
      {ready && canEdit ? (
        <p class="muted">
          Opens Microsoft's sign-in. Pick the sending account, tick consent on behalf of your organization if asked, and accept.
        </p>
      ) : null}
      {server.sendVia === 'graph' && server.status !== 'authorized' ? (
        <p class="muted">
          This server sends via Microsoft Graph: the sign-in asks for Graph's Mail.Send permission. An authorization for SMTP does not serve
          Graph (nor the other way round), so a change of Office 365 Send Via needs Authorize Account again.
        </p>
      ) : null}
      {!canEdit ? <p class="muted">Only users with the Settings: Update Settings permission can authorize.</p> : null}
    </div>
  );
}

function TestSection({ server, csrf, canEdit, test }: { server: EmailServer; csrf: string; canEdit: boolean; test: TestForm }) {
  if (!canEdit) return null;
  const { values, errors, result } = test;
  return (
    <section class="action-box" aria-labelledby="test-heading">
      <h2 id="test-heading">Send Test Email</h2>
      <form method="post" action={`/servers/${server.id}/test`} class="grid">
        <CsrfField token={csrf} />
        <label for="test-to">To</label>
        <input id="test-to" name="to" type="email" required value={values.to} aria-describedby="test-to-error" />
        <FieldError id="test-to" message={errors.to} />
        <label for="test-subject">Subject</label>
        <input id="test-subject" name="subject" value={values.subject} aria-describedby="test-subject-error" />
        <FieldError id="test-subject" message={errors.subject} />
        <label for="test-body">Body</label>
        <textarea id="test-body" name="body" rows={3}>
          {values.body}
        </textarea>
        <button type="submit">Send Test Email</button>
      </form>
      {test.pending ? (
        <div class="flash" role="status" id="test-result">
          <meta http-equiv="refresh" content="2" />
          <p>
            <strong>Sending the test email…</strong> {test.pending}
          </p>
        </div>
      ) : null}
      {test.notice ? (
        <div class="flash" role="status" id="test-result">
          <p>{test.notice}</p>
        </div>
      ) : null}
      {result ? (
        // `flash` carries the border, so the colour of success or failure shows (`.test-result` would reset it).
        <div
          class={`flash ${result.ok ? 'flash-success status-ok' : 'flash-error status-error'}`}
          role={result.ok ? 'status' : 'alert'}
          id="test-result"
        >
          <p>
            <strong>{result.ok ? 'Test email sent.' : 'Test email failed.'}</strong> {result.reply}
          </p>
          {result.waited ? <p>{result.waited}</p> : null}
          {result.hint ? (
            <>
              <p>What it means: {result.hint.meaning}</p>
              <p>How to fix it: {result.hint.fix}</p>
            </>
          ) : null}
          {result.messageId ? (
            <p>
              <a href={`/log/${result.messageId}`}>Show it in the relay log</a>
            </p>
          ) : null}
          <details open={!result.ok}>
            <summary>{viaGraph(server) ? 'Microsoft Graph requests' : 'SMTP conversation'}</summary>
            <pre class="transcript">{result.transcript.join('\n')}</pre>
          </details>
        </div>
      ) : null}
    </section>
  );
}

/** The client certificate's public facts, as the app registration shows them: SHA-256 thumbprint and expiry. */
function CertificateFacts({ server, warning }: { server: EmailServer; warning: SecretWarning | null }) {
  return (
    <>
      Set (hidden). SHA-256 thumbprint <code class="thumbprint">{server.clientCertificateThumbprint}</code>, expires{' '}
      <Time at={server.clientCertificateExpiresAt} />
      {warning ? <span class="mark-warn"> {describeExpiry(warning)}</span> : null}
      {server.hasClientSecret ? <p class="muted">It signs in instead of the client secret.</p> : null}
    </>
  );
}

export function ServerPage({
  server,
  redirectUri,
  canEdit,
  csrf,
  counts,
  warning,
  missingForAuthorize,
  test,
  diagnosis = null,
}: ServerPageProps) {
  const editHref = (f: FieldSpec): string | null => (canEdit ? `/servers/${server.id}/edit/${f.slug}` : null);
  const shown = FIELDS.filter((f) => f.shows(server));
  const rows = shown.map((f) => {
    if (f.key === 'method') {
      return (
        <SettingRow label={f.label} edit={editHref(f)}>
          <span class="value">{server.method}</span> <StatusLabel server={server} detailed />
        </SettingRow>
      );
    }
    if (f.key === 'clientSecretExpires' && warning?.credential === 'secret') {
      return (
        <SettingRow label={f.label} edit={editHref(f)}>
          {displayValue(f, server)} <span class="mark-warn">{describeExpiry(warning)}</span>
        </SettingRow>
      );
    }
    if (f.key === 'clientCertificate' && server.hasClientCertificate) {
      return (
        <SettingRow label={f.label} edit={editHref(f)}>
          <CertificateFacts server={server} warning={warning?.credential === 'certificate' ? warning : null} />
        </SettingRow>
      );
    }
    if (f.key === 'clientSecret' && server.hasClientSecret && server.hasClientCertificate) {
      return (
        <SettingRow label={f.label} edit={editHref(f)}>
          {displayValue(f, server)} <span class="muted">(not used: the client certificate signs in)</span>
        </SettingRow>
      );
    }
    const row =
      UNUSED_VIA_GRAPH.has(f.key) && viaGraph(server) ? (
        <SettingRow label={f.label} edit={editHref(f)}>
          {displayValue(f, server)} <span class="muted">(not used: this server sends via Microsoft Graph)</span>
        </SettingRow>
      ) : f.key === 'sendVia' && viaGraph(server) && server.cloud !== 'custom' ? (
        <SettingRow label={f.label} edit={editHref(f)}>
          {displayValue(f, server)} <span class="muted">at {resolveCloud(server).graphEndpoint}</span>
        </SettingRow>
      ) : (
        <SettingRow label={f.label} value={displayValue(f, server)} edit={editHref(f)} />
      );
    if (f.key === 'host' && server.method === 'office365') {
      return (
        <>
          {row}
          <SettingRow label="Office 365 Redirect URI" edit={null}>
            <input id="redirect-uri" class="copy-source" readonly value={redirectUri} aria-label="Office 365 Redirect URI" />{' '}
            <button type="button" class="copy" data-copy="redirect-uri" hidden>
              Copy
            </button>
            <p class="muted">Register this exact address as a Web redirect URI of the app registration.</p>
          </SettingRow>
        </>
      );
    }
    if (f.key === 'cloud' && server.cloud === 'custom') {
      return (
        <>
          {row}
          <SettingRow label={CUSTOM_CLOUD_LABELS.authorityHost} value={server.authorityHost ?? 'Not set'} edit={editHref(f)} />
          <SettingRow label={CUSTOM_CLOUD_LABELS.smtpResource} value={server.smtpResource ?? 'Not set'} edit={editHref(f)} />
          <SettingRow label={CUSTOM_CLOUD_LABELS.graphEndpoint} value={server.graphEndpoint ?? 'Not set'} edit={editHref(f)} />
        </>
      );
    }
    return row;
  });
  const waiting = counts.queued + counts.deferred + counts.sending;
  return (
    <>
      <div class="toolbar">
        <AuthorizeSection server={server} canEdit={canEdit} csrf={csrf} missing={missingForAuthorize} />
      </div>
      <TestSection server={server} csrf={csrf} canEdit={canEdit} test={test} />
      {canEdit ? <CheckConfigSection server={server} csrf={csrf} diagnosis={diagnosis} /> : null}
      <section aria-labelledby="settings-heading">
        <h2 id="settings-heading">Settings</h2>
        <table class="settings">
          <tbody>{rows}</tbody>
        </table>
      </section>
      <section aria-labelledby="queue-heading">
        <h2 id="queue-heading">Queue</h2>
        <p>
          {waiting} waiting, {counts.held} held, {counts.delivered} delivered, {counts.failed} failed.{' '}
          <a href={`/log?server=${server.id}`}>Show in the relay log</a>
        </p>
      </section>
      {canEdit ? (
        <p>
          <a class="danger" href={`/servers/${server.id}/delete`}>
            Delete this server
          </a>
        </p>
      ) : null}
    </>
  );
}
