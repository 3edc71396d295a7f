/**
 * The New email server form: a name, a preset for one of Microsoft's
 * endpoints or the SMTP Authentication Method and, for office365, the Office
 * 365 Send Via; office365 fills in tls, 587 and smtp.office365.com by itself,
 * a preset its host, port, security and limits.
 */
import { PRESET_NAMES, PRESETS } from '../../auth/server-presets.js';
import { AUTH_METHODS, SECURE_MODES } from '../../store/servers.js';
import { fieldBySlug, type FieldSpec } from '../server-fields.js';
import type { FormValues, NewServerErrors } from '../server-forms.js';
import { CsrfField, FieldError } from './components.js';

const sendViaField = fieldBySlug('send-via') as FieldSpec;

/** The preset choice: none (the method below decides), or one of Microsoft's endpoints with what it is for. */
function PresetChoice({ value, error }: { value: string; error: string | undefined }) {
  return (
    <fieldset aria-describedby="preset-help preset-error">
      <legend>Preset</legend>
      <label class="choice">
        <input type="radio" name="preset" value="" checked={!value} /> None: choose the method below
      </label>
      {PRESET_NAMES.map((name) => (
        <label class="choice">
          <input type="radio" name="preset" value={name} checked={name === value} /> {PRESETS[name].label}
        </label>
      ))}
      <div class="muted" id="preset-help">
        <p>
          A preset fills in the method, Server Host, Server Port, Use Secure Connection and the sending limits; a host, port or security
          entered below wins.
        </p>
        <ul>
          {PRESET_NAMES.map((name) => (
            <li>
              {PRESETS[name].label}: {PRESETS[name].summary}
            </li>
          ))}
        </ul>
      </div>
      <FieldError id="preset" message={error} />
    </fieldset>
  );
}

export function NewServerPage({ csrf, values, errors }: { csrf: string; values: FormValues; errors: NewServerErrors }) {
  const method = values['method'] || 'office365';
  const sendVia = values['sendVia'] || 'smtp';
  return (
    <form method="post" action="/servers" class="narrow">
      <CsrfField token={csrf} />
      <label for="name">Name</label>
      <input id="name" name="name" required value={values['name'] ?? ''} aria-describedby="name-error" />
      <FieldError id="name" message={errors.name} />
      <PresetChoice value={values['preset'] ?? ''} error={errors.preset} />
      <fieldset>
        <legend>SMTP Authentication Method</legend>
        {AUTH_METHODS.map((m) => (
          <label class="choice">
            <input type="radio" name="method" value={m} checked={m === method} /> {m}
          </label>
        ))}
        <FieldError id="method" message={errors.method} />
      </fieldset>
      <fieldset aria-describedby="sendVia-help sendVia-error">
        <legend>{sendViaField.label}</legend>
        {(sendViaField.choices ?? []).map((choice) => (
          <label class="choice">
            <input type="radio" name="sendVia" value={choice.value} checked={choice.value === sendVia} /> {choice.label}
          </label>
        ))}
        <p class="muted" id="sendVia-help">
          For office365 only: {sendViaField.help}
        </p>
        <FieldError id="sendVia" message={errors.sendVia} />
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
