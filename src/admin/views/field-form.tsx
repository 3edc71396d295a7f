/**
 * The small form behind an edit icon: one setting (the cloud form also holds
 * Authority Host and SMTP Resource), its help text and Save. Secrets are
 * write-only inputs that never come back filled in; a PEM secret is pasted
 * into a text area or uploaded as a file.
 */
import type { SecretKey } from '../../store/server-schema.js';
import type { FieldErrors } from '../../store/server-validation.js';
import { hasSecret, type EmailServer } from '../../store/servers.js';
import { CUSTOM_CLOUD_LABELS, type FieldSpec } from '../server-fields.js';
import { uploadField, type FormValues } from '../server-forms.js';
import { CsrfField, FieldError } from './components.js';

/** The Custom cloud's addresses on the cloud form, with an example of each. */
const CUSTOM_CLOUD_FIELDS = [
  ['authorityHost', 'https://login.example:8443'],
  ['smtpResource', 'https://outlook.office365.com'],
  ['graphEndpoint', 'https://graph.microsoft.com'],
] as const;

export interface FieldFormProps {
  server: EmailServer;
  spec: FieldSpec;
  csrf: string;
  values: FormValues;
  errors: FieldErrors;
}

function Choices({ spec, value, error }: { spec: FieldSpec; value: string; error: string | undefined }) {
  return (
    <fieldset aria-describedby={`${spec.key}-error`}>
      <legend>{spec.label}</legend>
      {(spec.choices ?? []).map((choice) => (
        <label class="choice">
          <input type="radio" name={spec.key} value={choice.value} checked={choice.value === value} /> {choice.label}
        </label>
      ))}
      <FieldError id={spec.key} message={error} />
    </fieldset>
  );
}

/** A labelled input with its error; its help is `{id}-help`. A password input never shows its value. */
export function TextInput({
  name,
  id = name,
  label,
  value,
  type,
  error,
  placeholder,
}: {
  name: string;
  /** The element id, when it is not the name. */
  id?: string;
  label: string;
  value: string;
  type: string;
  error: string | undefined;
  placeholder?: string;
}) {
  return (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={type}
        value={type === 'password' ? undefined : value}
        placeholder={placeholder}
        autocomplete={type === 'password' ? 'new-password' : 'off'}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${id}-error ${id}-help`}
      />
      <FieldError id={id} message={error} />
    </>
  );
}

/** A list setting: one entry a line (commas work too). */
function ListInput({
  name,
  label,
  value,
  error,
  placeholder,
}: {
  name: string;
  label: string;
  value: string;
  error: string | undefined;
  placeholder?: string;
}) {
  return (
    <>
      <label for={name}>{label}</label>
      <textarea
        id={name}
        name={name}
        rows={4}
        placeholder={placeholder}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${name}-error ${name}-help`}
      >
        {value.split(/,\s*/).join('\n')}
      </textarea>
      <FieldError id={name} message={error} />
    </>
  );
}

/** A secret of several lines (a PEM): pasted, or uploaded as a file; never shown again, and removable once set. */
function UploadInput({ server, spec, accept, error }: { server: EmailServer; spec: FieldSpec; accept: string; error: string | undefined }) {
  const file = uploadField(spec);
  return (
    <>
      <label for={spec.key}>{spec.label}</label>
      <textarea
        id={spec.key}
        name={spec.key}
        rows={8}
        spellcheck={false}
        autocomplete="off"
        placeholder={'-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----'}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${spec.key}-error ${spec.key}-help`}
      ></textarea>
      <label for={file}>or a file with both</label>
      <input id={file} name={file} type="file" accept={accept} />
      <FieldError id={spec.key} message={error} />
      {hasSecret(server, spec.key as SecretKey) ? (
        <label class="choice">
          <input type="checkbox" name="remove" value="1" /> Remove it (sign in with the client secret again)
        </label>
      ) : null}
    </>
  );
}

export function FieldForm({ server, spec, csrf, values, errors }: FieldFormProps) {
  const value = values[spec.key] ?? '';
  const type =
    spec.kind === 'secret' ? 'password' : spec.kind === 'number' ? 'number' : spec.kind === 'date' ? 'date' : (spec.inputType ?? 'text');
  return (
    <form
      method="post"
      action={`/servers/${server.id}/edit/${spec.slug}`}
      class="narrow"
      enctype={spec.upload ? 'multipart/form-data' : undefined}
    >
      <CsrfField token={csrf} />
      {spec.kind === 'choice' || spec.kind === 'cloud' ? (
        <Choices spec={spec} value={value} error={errors[spec.key]} />
      ) : spec.upload ? (
        <UploadInput server={server} spec={spec} accept={spec.upload.accept} error={errors[spec.key]} />
      ) : spec.kind === 'list' ? (
        <ListInput name={spec.key} label={spec.label} value={value} error={errors[spec.key]} placeholder={spec.placeholder} />
      ) : (
        <TextInput name={spec.key} label={spec.label} value={value} type={type} error={errors[spec.key]} placeholder={spec.placeholder} />
      )}
      {spec.kind === 'secret' ? (
        <p class="muted">{hasSecret(server, spec.key as SecretKey) ? 'A value is set. Saving replaces it.' : 'No value is set yet.'}</p>
      ) : null}
      {spec.kind === 'cloud' ? (
        <div class="custom-cloud">
          <p class="muted">Only for Custom:</p>
          {CUSTOM_CLOUD_FIELDS.map(([name, placeholder]) => (
            <TextInput
              name={name}
              label={CUSTOM_CLOUD_LABELS[name]}
              value={values[name] ?? ''}
              type="url"
              error={errors[name]}
              placeholder={placeholder}
            />
          ))}
        </div>
      ) : null}
      <p class="help" id={`${spec.key}-help`}>
        {spec.help}
      </p>
      <div class="buttons">
        <button type="submit">Save</button> <a href={`/servers/${server.id}`}>Cancel</a>
      </div>
    </form>
  );
}
