/**
 * Form fields shared by the relay access pages: the email server a relay
 * user or network routes to, and a relay user's allowed From list.
 */
import type { EmailServer } from '../../store/servers.js';
import { FieldError } from './components.js';

/** `scanner@contoso.com, @contoso.com` as the textarea shows it, one entry a line. */
export const allowFromText = (list: readonly string[]): string => list.join('\n');

/** `any sender`, or the list as one line. */
export const describeAllowFrom = (list: readonly string[]): string => (list.length ? list.join(', ') : 'any sender');

/** The Email server select; `value` is the chosen server's id as text. */
export function ServerSelect({ id, servers, value, error }: { id: string; servers: EmailServer[]; value: string; error?: string }) {
  return (
    <>
      <label for={id}>Email server</label>
      <select id={id} name="serverId" required aria-invalid={error ? 'true' : undefined} aria-describedby={`${id}-error`}>
        {servers.map((s) => (
          <option value={String(s.id)} selected={value === String(s.id)}>
            {s.isDefault ? `${s.name} (default)` : s.name}
          </option>
        ))}
      </select>
      <FieldError id={id} message={error} />
    </>
  );
}

/** The Allowed From textarea with its help text. */
export function AllowFromField({ id, value, error }: { id: string; value: string; error?: string }) {
  return (
    <>
      <label for={id}>Allowed From</label>
      <textarea
        id={id}
        name="allowFrom"
        rows={3}
        placeholder="scanner@contoso.com, @contoso.com"
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${id}-error ${id}-help`}
      >
        {value}
      </textarea>
      <p class="help" id={`${id}-help`}>
        Addresses and @domains this user may send as, separated by commas or new lines. Leave empty to allow any sender.
      </p>
      <FieldError id={id} message={error} />
    </>
  );
}

/** Shown instead of a form while there is no email server to route to. */
export function NoServerYet({ canEdit }: { canEdit: boolean }) {
  return (
    <p class="muted">
      There is no email server yet.{' '}
      {canEdit ? (
        <>
          <a href="/servers/new">Create one</a> first: relay access always leads to an email server.
        </>
      ) : (
        'Relay access always leads to an email server.'
      )}
    </p>
  );
}
