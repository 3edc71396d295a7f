/**
 * The alert settings form, derived from the settings' one description
 * (alerts/settings-schema.ts): per setting its label, input and help, in its
 * fieldset. A setting the environment sets is shown read-only (a secret
 * without its value); a secret is a write-only input with a box that removes it.
 */
import {
  ALERT_SETTING_KEYS,
  alertSettingSpec,
  type AlertLocks,
  type AlertSettingKey,
  type AlertSettingSpec,
  type AlertSettingsForm,
} from '../../alerts/settings-schema.js';
import type { AlertSettings } from '../../store/alerts.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField, FieldError } from './components.js';
import { TextInput } from './field-form.js';

export interface AlertSettingsFormProps {
  settings: AlertSettings;
  /** Settings the environment sets instead of the panel. */
  locks: AlertLocks;
  servers: EmailServer[];
  csrf: string;
  form: AlertSettingsForm;
  canEdit: boolean;
}

const SECTIONS: Record<AlertSettingSpec['section'], string> = { channels: 'Channels', thresholds: 'When to alert' };

function Help({ id, children }: { id: string; children: unknown }) {
  return (
    <p class="help" id={`${id}-help`}>
      {children}
    </p>
  );
}

/** One setting's input, help and error. */
function Field({ name, settings, locks, servers, form }: { name: AlertSettingKey } & Omit<AlertSettingsFormProps, 'csrf' | 'canEdit'>) {
  const { label, kind, panel } = alertSettingSpec(name);
  const { id, help } = panel;
  const value = form.values[name] ?? '';
  const error = form.errors[name];
  const lock = locks[name];
  if (lock) {
    return (
      <>
        <label for={id}>{label}</label>
        <p id={id}>
          Set by {lock.variable}
          {lock.shown ? `: ${lock.shown}` : '.'}
        </p>
      </>
    );
  }
  const describedBy = `${id}-error ${id}-help`;
  switch (kind) {
    case 'secret':
      return (
        <>
          <TextInput
            id={id}
            name={name}
            label={label}
            value=""
            type="password"
            error={error}
            placeholder={settings.hasWebhook ? 'set (enter a new URL to replace it)' : 'not set'}
          />
          <Help id={id}>
            {settings.hasWebhook ? 'Set. ' : 'Not set. '}
            {help}
          </Help>
          {settings.hasWebhook ? (
            <label class="check">
              <input type="checkbox" name="clearWebhook" value="1" /> Remove the webhook URL
            </label>
          ) : null}
        </>
      );
    case 'list':
      return (
        <>
          <label for={id}>{label}</label>
          <textarea id={id} name={name} rows={2} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            {value}
          </textarea>
          <FieldError id={id} message={error} />
          <Help id={id}>{help}</Help>
        </>
      );
    case 'server':
      return (
        <>
          <label for={id}>{label}</label>
          <select id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            <option value="" selected={value === ''}>
              the default email server
            </option>
            {servers.map((s) => (
              <option value={String(s.id)} selected={value === String(s.id)}>
                {s.name}
              </option>
            ))}
          </select>
          <FieldError id={id} message={error} />
          <Help id={id}>{help}</Help>
        </>
      );
    case 'number':
      return (
        <>
          <TextInput id={id} name={name} label={label} value={value} type="number" error={error} />
          <Help id={id}>{help}</Help>
        </>
      );
  }
}

/** The form, one fieldset per section; read-only users see it disabled and without Save. */
export function AlertSettingsEditor({ csrf, canEdit, ...props }: AlertSettingsFormProps) {
  const sections = Object.entries(SECTIONS) as Array<[AlertSettingSpec['section'], string]>;
  return (
    <form method="post" action="/alerts" class="narrow">
      <CsrfField token={csrf} />
      {sections.map(([section, legend]) => (
        <fieldset disabled={!canEdit}>
          <legend>{legend}</legend>
          {ALERT_SETTING_KEYS.filter((key) => alertSettingSpec(key).section === section).map((key) => (
            <Field name={key} {...props} />
          ))}
        </fieldset>
      ))}
      {canEdit ? <button type="submit">Save alert settings</button> : null}
    </form>
  );
}
