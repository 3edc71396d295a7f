/**
 * Submitted email server forms turned into setting changes: one setting's
 * edit form, and the New email server form. Validation is the store's
 * `validateServerFields`, plus what only a form can get wrong (empty fields,
 * the Custom cloud's two addresses).
 */
import { validateServerFields, type FieldErrors } from '../store/server-validation.js';
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
  const raw =
    key === 'clientSecret' || key === 'password' ? (typeof body[key] === 'string' ? (body[key] as string) : '') : formText(body, key);
  const values: FormValues = key === 'clientSecret' || key === 'password' ? {} : { [key]: raw };
  const changes: Record<string, unknown> = {};
  const errors: FieldErrors = {};

  if (spec.kind === 'secret') {
    if (raw.trim() === '') errors[key] = spec.key === 'clientSecret' ? 'Paste the client secret value.' : 'Enter the password.';
    else changes[key] = raw.trim();
  } else if (spec.kind === 'number') {
    changes[key] = parseNumber(raw);
  } else if (spec.optional) {
    changes[key] = raw === '' ? null : raw;
  } else if (raw === '') {
    errors[key] = `Enter a value for ${spec.label}.`;
  } else {
    changes[key] = raw;
  }

  if (spec.kind === 'cloud') {
    const authorityHost = formText(body, 'authorityHost');
    const smtpResource = formText(body, 'smtpResource');
    values['authorityHost'] = authorityHost;
    values['smtpResource'] = smtpResource;
    const custom = raw === 'custom';
    changes['authorityHost'] = custom && authorityHost !== '' ? authorityHost.replace(/\/+$/, '') : null;
    changes['smtpResource'] = custom && smtpResource !== '' ? smtpResource.replace(/\/+$/, '') : null;
    if (custom && !authorityHost) errors.authorityHost = 'The Custom cloud needs an Authority Host such as https://login.example:8443.';
    if (custom && !smtpResource) errors.smtpResource = 'The Custom cloud needs an SMTP Resource such as https://outlook.office365.com.';
  }

  const settings = changes as Partial<ServerSettings>;
  return { changes: settings, errors: { ...validateServerFields(settings), ...errors }, values };
}

/** Defaults of a new server; office365 gets tls, 587 and smtp.office365.com. */
export function newServerSettings(
  name: string,
  method: ServerSettings['method'],
  host: string | null,
  port: number | null,
  secure: ServerSettings['secure'] | null,
): ServerSettings {
  const o365 = method === 'office365';
  return {
    name,
    method,
    signInMode: 'authorize',
    secure: secure ?? 'tls',
    host: host ?? (o365 ? 'smtp.office365.com' : ''),
    port: port ?? 587,
    tenantId: null,
    clientId: null,
    clientSecret: null,
    clientSecretExpires: null,
    cloud: 'global',
    authorityHost: null,
    smtpResource: null,
    mailbox: null,
    username: null,
    password: null,
    maxConnections: 3,
    messagesPerMinute: 30,
    recipientsPerDay: 10_000,
    fromHandling: 'keep',
  };
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
  const settings = newServerSettings(
    values['name'] as string,
    method,
    values['host'] || null,
    values['port'] ? parseNumber(values['port']) : null,
    (values['secure'] || null) as ServerSettings['secure'] | null,
  );
  const errors = validateServerFields(settings);
  if (!values['name']) errors.name = 'Enter a name for this server.';
  if (method !== 'office365' && !values['host']) errors.host = 'Enter the host name of the SMTP server.';
  return { settings: Object.keys(errors).length === 0 ? settings : null, errors, values };
}
