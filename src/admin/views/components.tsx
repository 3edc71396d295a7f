/**
 * Small pieces shared by the panel's pages: the hidden CSRF field, field
 * messages, the server status label, edit links, times and flash messages.
 */
import type { Child } from 'hono/jsx';
import type { EmailServer } from '../../store/servers.js';
import { formatTime } from '../../time-format.js';
import type { Flash } from '../flash.js';
import { CSRF_FIELD } from '../middleware/csrf.js';

/** The hidden field every POST form carries. */
export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />;
}

/** The message next to a field that did not validate. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="field-error" id={`${id}-error`} role="alert">
      {message}
    </p>
  );
}

/** `2025-01-31 14:05:06 UTC` (as the command line shows times), in a <time> element. */
export function Time({ at }: { at: number | null }) {
  if (at === null) return <span>never</span>;
  return <time datetime={new Date(at).toISOString()}>{formatTime(at)}</time>;
}

/** The edit icon of one setting: a link whose accessible name is "Edit <label>". */
export function EditLink({ href, label }: { href: string; label: string }) {
  return (
    <a class="edit" href={href} aria-label={`Edit ${label}`} title={`Edit ${label}`}>
      <span aria-hidden="true">✎</span>
    </a>
  );
}

/**
 * `Not Authorized` until a token was obtained, then `Authorized` with the account
 * and the last refresh; an error names Microsoft's code, what it means and the fix.
 */
export function StatusLabel({ server, detailed = false }: { server: EmailServer; detailed?: boolean }) {
  if (server.status === 'authorized') {
    return (
      <span class="status status-ok">
        <strong>{server.method === 'office365' ? 'Authorized' : 'Working'}</strong>
        {server.authorizedAccount ? <> as {server.authorizedAccount}</> : null}
        {detailed && server.tokenRefreshedAt !== null ? (
          <>
            , token refreshed <Time at={server.tokenRefreshedAt} />
          </>
        ) : null}
      </span>
    );
  }
  if (server.status === 'error') {
    return (
      <span class="status status-error">
        <strong>Error{server.statusCode ? `: ${server.statusCode}` : ''}</strong>
        {detailed ? (
          <>
            {server.statusMessage ? <span class="status-message"> {server.statusMessage}</span> : null}
            {server.statusHint ? <span class="status-fix"> Fix: {server.statusHint}</span> : null}
          </>
        ) : null}
      </span>
    );
  }
  return (
    <span class="status status-none">
      <strong>{server.method === 'office365' ? 'Not Authorized' : 'Not used yet'}</strong>
      {detailed && server.statusCode ? (
        <>
          <span class="status-message">
            {' '}
            {server.statusCode}: {server.statusMessage ?? ''}
          </span>
          {server.statusHint ? <span class="status-fix"> Fix: {server.statusHint}</span> : null}
        </>
      ) : null}
    </span>
  );
}

/** A one-shot message after a redirect. */
export function FlashMessage({ flash }: { flash: Flash }) {
  return (
    <div class={`flash flash-${flash.kind}`} role={flash.kind === 'error' ? 'alert' : 'status'}>
      <p>
        {flash.code ? <strong>{flash.code}: </strong> : null}
        {flash.message}
      </p>
      {flash.meaning ? <p>What it means: {flash.meaning}</p> : null}
      {flash.fix ? <p>How to fix it: {flash.fix}</p> : null}
    </div>
  );
}

/** A POST form with its CSRF field; `confirm` is shown by the enhancement script before submitting. */
export function PostForm({ action, csrf, children, class: className }: { action: string; csrf: string; children: Child; class?: string }) {
  return (
    <form method="post" action={action} class={className}>
      <CsrfField token={csrf} />
      {children}
    </form>
  );
}
