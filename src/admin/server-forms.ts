/**
 * Submitted email server forms turned into setting changes: one setting's
 * edit form, and the New email server form. Validation is the store's
 * `validateServerFields`, plus what only a form can get wrong (empty fields,
 * the Custom cloud's two addresses).
 */
import { newServerSettings } from '../auth/server-settings.js';
import { parseAddressList, validateServerFields, type FieldErrors } from '../store/server-validation.js';
import type { ServerSettings } from '../store/servers.js';
import { formText } from './form-text.js';
import type { FieldSpec } from './server-fields.js';

export type FormValues = Record<string, string>;

export interface ParsedForm {
  changes: Partial<ServerSettings>;
  errors: FieldErrors;
  /** What to put back into the inputs when the form is shown again (secrets left out). */
  values: FormValues;
}

function parseNumber(text: string): number {
  return /^\d{1,9}$/.test(text) ? Number(text) : NaN;
}

/** Parses and validates one setting's edit form. */
export function parseFieldForm(spec: FieldSpec, body: Record<string, unknown>): ParsedForm {
  const key = spec.key;
  const secret = spec.kind === 'secret';
  const raw = secret ? (typeof body[key] === 'string' ? (body[key] as string) : '') : formText(body, key);
  const values: FormValues = secret ? {} : { [key]: raw };
  const changes: Record<string, unknown> = {};
  const errors: FieldErrors = {};

  if (secret) {
    if (raw.trim() === '') errors[key] = spec.key === 'clientSecret' ? 'Paste the client secret value.' : 'Enter the password.';
    else changes[key] = raw.trim();
  } else if (spec.kind === 'number') {
    changes[key] = parseNumber(raw);
  } else if (spec.kind === 'list') {
    changes[key] = parseAddressList(raw);
  } else if (spec.optional) {
    changes[key] = raw === '' ? null : raw;
  } else if (raw === '') {
    errors[key] = `Enter a value for ${spec.label}.`;
  } else {
    changes[key] = raw;
  }

  if (spec.kind === 'cloud') {
    const custom = raw === 'custom';
    for (const extra of ['authorityHost', 'smtpResource', 'graphEndpoint'] as const) {
      const text = formText(body, extra);
      values[extra] = text;
      changes[extra] = custom && text !== '' ? text.replace(/\/+$/, '') : null;
    }
    if (custom && !values['authorityHost'])
      errors.authorityHost = 'The Custom cloud needs an Authority Host such as https://login.example:8443.';
    // Sending via SMTP needs the SMTP Resource, via Graph the Graph Endpoint: one of them at least.
    if (custom && !values['smtpResource'] && !values['graphEndpoint']) {
      errors.smtpResource = 'The Custom cloud needs an SMTP Resource such as https://outlook.office365.com.';
    }
  }

  const settings = changes as Partial<ServerSettings>;
  return { changes: settings, errors: { ...validateServerFields(settings), ...errors }, values };
}

/** Parses the New email server form: Name, SMTP Authentication Method, and host/port/security for other methods. */
export function parseNewServerForm(body: Record<string, unknown>): {
  settings: ServerSettings | null;
  errors: FieldErrors;
  values: FormValues;
} {
  const values: FormValues = {
    name: formText(body, 'name'),
    method: formText(body, 'method'),
    host: formText(body, 'host'),
    port: formText(body, 'port'),
    secure: formText(body, 'secure'),
  };
  const method = (values['method'] || 'office365') as ServerSettings['method'];
  // The panel follows the admin guide: a new Office 365 server signs in with Authorize Account.
  const settings = newServerSettings({
    name: values['name'] as string,
    method,
    signInMode: 'authorize',
    host: values['host'] || undefined,
    port: values['port'] ? parseNumber(values['port']) : undefined,
    secure: (values['secure'] || undefined) as ServerSettings['secure'] | undefined,
  });
  const errors = validateServerFields(settings);
  if (!values['name']) errors.name = 'Enter a name for this server.';
  if (method !== 'office365' && !values['host']) errors.host = 'Enter the host name of the SMTP server.';
  return { settings: Object.keys(errors).length === 0 ? settings : null, errors, values };
}
