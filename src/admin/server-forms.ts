/**
 * Submitted email server forms turned into setting changes: one setting's
 * edit form, and the New email server form. Validation is the store's
 * `validateServerFields`, plus what only a form can get wrong (empty fields,
 * the Custom cloud's two addresses).
 */
import { isPresetName, presetConflict, PRESET_NAMES, PRESETS } from '../auth/server-presets.js';
import { newServerSettings } from '../auth/server-settings.js';
import type { SecretKey } from '../store/server-schema.js';
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

/** What an empty secret form is told. */
const EMPTY_SECRET: Readonly<Record<SecretKey, string>> = {
  clientSecret: 'Paste the client secret value.',
  clientCertificate: 'Paste the certificate and its private key, or choose a file that holds both.',
  password: 'Enter the password.',
};

/** The file input next to a secret's text area (FieldSpec `upload`). */
export const uploadField = (spec: FieldSpec): string => `${spec.key}File`;

/**
 * The body with an uploaded file's text in place of its setting's empty text area, for a setting that
 * takes uploads; a file is read only up to the panel's body limit, which the request already passed.
 */
export async function withUpload(spec: FieldSpec, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const file = spec.upload ? body[uploadField(spec)] : undefined;
  const pasted = typeof body[spec.key] === 'string' ? (body[spec.key] as string).trim() : '';
  if (pasted !== '' || !(file instanceof File) || file.size === 0) return body;
  return { ...body, [spec.key]: await file.text() };
}

/** Parses and validates one setting's edit form. */
export function parseFieldForm(spec: FieldSpec, body: Record<string, unknown>): ParsedForm {
  const key = spec.key;
  const secret = spec.kind === 'secret';
  const raw = secret ? (typeof body[key] === 'string' ? (body[key] as string) : '') : formText(body, key);
  const values: FormValues = secret ? {} : { [key]: raw };
  const changes: Record<string, unknown> = {};
  const errors: FieldErrors = {};

  if (secret && spec.upload && body['remove'] === '1') {
    changes[key] = null;
  } else if (secret) {
    if (raw.trim() === '') errors[key] = EMPTY_SECRET[key as SecretKey];
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

/** What the New email server form and the Name edit form say when another email server has the name. */
export const SERVER_NAME_TAKEN = 'An email server with this name exists already.';

/** The New email server form's messages: per setting, and for the preset. */
export type NewServerErrors = FieldErrors & { preset?: string };

/**
 * Parses the New email server form: Name, a preset or the SMTP Authentication Method, and
 * host/port/security (which override the preset's).
 */
export function parseNewServerForm(body: Record<string, unknown>): {
  settings: ServerSettings | null;
  errors: NewServerErrors;
  values: FormValues;
} {
  const values: FormValues = {
    name: formText(body, 'name'),
    preset: formText(body, 'preset'),
    method: formText(body, 'method'),
    host: formText(body, 'host'),
    port: formText(body, 'port'),
    secure: formText(body, 'secure'),
    sendVia: formText(body, 'sendVia'),
  };
  const presetText = values['preset'] ?? '';
  const preset = isPresetName(presetText) ? presetText : undefined;
  // A preset names its method (the method's radio buttons are for servers without one).
  const method = (preset ? PRESETS[preset].settings.method : values['method'] || 'office365') as ServerSettings['method'];
  // The panel follows the admin guide: a new Office 365 server signs in with Authorize Account, unless its preset says otherwise.
  const settings = newServerSettings(
    {
      name: values['name'] as string,
      method,
      signInMode: (preset && PRESETS[preset].settings.signInMode) || 'authorize',
      host: values['host'] || undefined,
      port: values['port'] ? parseNumber(values['port']) : undefined,
      secure: (values['secure'] || undefined) as ServerSettings['secure'] | undefined,
      // Only Office 365 sends via Graph; the schema refuses anything but smtp and graph.
      sendVia: method === 'office365' && values['sendVia'] ? (values['sendVia'] as ServerSettings['sendVia']) : undefined,
    },
    preset,
  );
  const errors: NewServerErrors = validateServerFields(settings);
  if (!values['name']) errors.name = 'Enter a name for this server.';
  if (!settings.host) errors.host = 'Enter the host name of the SMTP server.';
  if (presetText && !preset) errors.preset = `Choose one of ${PRESET_NAMES.join(', ')}, or none.`;
  const conflict = preset ? presetConflict(preset, settings) : null;
  if (conflict) errors.sendVia = conflict;
  return { settings: Object.keys(errors).length === 0 ? settings : null, errors, values };
}
