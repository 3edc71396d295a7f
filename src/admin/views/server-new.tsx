/**
 * The New email server form: a name and the SMTP Authentication Method;
 * office365 fills in tls, 587 and smtp.office365.com by itself.
 */
import type { FieldErrors } from '../../store/server-validation.js';
import { AUTH_METHODS, SECURE_MODES } from '../../store/servers.js';
import type { FormValues } from '../server-forms.js';
import { CsrfField, FieldError } from './components.js';

export function NewServerPage({ csrf, values, errors }: { csrf: string; values: FormValues; errors: FieldErrors }) {
  const method = values['method'] || 'office365';
  return (
    <form method="post" action="/servers" class="narrow">
      <CsrfField token={csrf} />
      <label for="name">Name</label>
      <input id="name" name="name" required value={values['name'] ?? ''} aria-describedby="name-error" />
      <FieldError id="name" message={errors.name} />
      <fieldset>
        <legend>SMTP Authentication Method</legend>
        {AUTH_METHODS.map((m) => (
          <label class="choice">
            <input type="radio" name="method" value={m} checked={m === method} /> {m}
          </label>
        ))}
        <FieldError id="method" message={errors.method} />
      </fieldset>
      <details open={method !== 'office365' || Boolean(errors.host ?? errors.port ?? errors.secure)}>
        <summary>Server Host, Server Port and Use Secure Connection</summary>
        <p class="muted">Leave empty for office365: relay365 uses smtp.office365.com, port 587 and tls.</p>
        <label for="host">Server Host</label>
        <input id="host" name="host" value={values['host'] ?? ''} aria-describedby="host-error" />
        <FieldError id="host" message={errors.host} />
        <label for="port">Server Port</label>
        <input id="port" name="port" type="number" value={values['port'] ?? ''} aria-describedby="port-error" />
        <FieldError id="port" message={errors.port} />
        <label for="secure">Use Secure Connection</label>
        <select id="secure" name="secure">
          <option value="">default (tls)</option>
          {SECURE_MODES.map((s) => (
            <option value={s} selected={values['secure'] === s}>
              {s}
            </option>
          ))}
        </select>
        <FieldError id="secure" message={errors.secure} />
      </details>
      <div class="buttons">
        <button type="submit">Save</button> <a href="/servers">Cancel</a>
      </div>
    </form>
  );
}
