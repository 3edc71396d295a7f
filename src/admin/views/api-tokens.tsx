/**
 * The API tokens page (Super Admin only): the tokens that authorize the REST
 * API with their scope, first characters and last use, a form to create one,
 * and Revoke. A new token is shown once, after creating it.
 */
import type { ApiToken } from '../../store/api-tokens.js';
import { CsrfField, FieldError, Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface NewApiTokenForm {
  values: { name: string; scope: string };
  errors: Partial<Record<'name' | 'scope', string>>;
}

export interface ApiTokensPageProps {
  tokens: ApiToken[];
  /** A token just created, shown only on this page load. */
  created: { name: string; token: string } | null;
  csrf: string;
  form: NewApiTokenForm;
  publicUrl: string;
}

function Created({ name, token }: { name: string; token: string }) {
  return (
    <section class="one-time" aria-labelledby="token-heading">
      <h2 id="token-heading">New API token {name}</h2>
      <p>
        <strong>Shown only this once.</strong> Put it in your script's secret store now: relay365 keeps only a hash and cannot show it
        again.
      </p>
      <p class="copy-row">
        <input id="one-time-token" class="copy-source" readonly value={token} aria-label={`API token ${name}`} />{' '}
        <button type="button" class="copy" data-copy="one-time-token" hidden>
          Copy
        </button>
      </p>
    </section>
  );
}

function tokenColumns(csrf: string): Column<ApiToken>[] {
  return [
    {
      header: 'Token',
      cell: (t) => (
        <>
          <strong>{t.name}</strong>, {t.scope}
          <br />
          <code>{t.hint}</code>
        </>
      ),
    },
    {
      header: 'Used',
      cell: (t) => (
        <>
          last used <Time at={t.lastUsedAt} />
          <br />
          <span class="muted">
            created <Time at={t.createdAt} />
          </span>
        </>
      ),
    },
    {
      header: 'Revoke',
      cell: (t) => (
        <form method="post" action={`/api-tokens/${t.id}/revoke`} class="inline-form">
          <CsrfField token={csrf} />
          <button type="submit" class="danger" aria-label={`Revoke ${t.name}`}>
            Revoke
          </button>
        </form>
      ),
    },
  ];
}

export function ApiTokensPage({ tokens, created, csrf, form, publicUrl }: ApiTokensPageProps) {
  return (
    <>
      {created ? <Created {...created} /> : null}
      <p>
        Scripts call the REST API at <code>{publicUrl}/api/v1</code> with <code>Authorization: Bearer</code> and a token from this page. A
        read token may only read; a write token may change email servers, relay access and the queue. The API's description is at{' '}
        <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
      </p>
      <ListTable columns={tokenColumns(csrf)} rows={tokens} empty={<p class="muted">No API tokens yet.</p>} />
      <h2>Create an API token</h2>
      <form method="post" action="/api-tokens" class="narrow">
        <CsrfField token={csrf} />
        <label for="token-name">Name</label>
        <input id="token-name" name="name" value={form.values.name} placeholder="provisioning-script" aria-describedby="token-name-error" />
        <FieldError id="token-name" message={form.errors.name} />
        <fieldset>
          <legend>Scope</legend>
          <label class="choice">
            <input type="radio" name="scope" value="read" checked={form.values.scope !== 'write'} /> read: list and read only
          </label>
          <label class="choice">
            <input type="radio" name="scope" value="write" checked={form.values.scope === 'write'} /> write: read and change
          </label>
          <FieldError id="token-scope" message={form.errors.scope} />
        </fieldset>
        <button type="submit">Create token</button>
      </form>
    </>
  );
}
