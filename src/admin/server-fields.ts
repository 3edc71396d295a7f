/**
 * The email server settings as the panel shows and edits them, derived from
 * the settings' one description (store/server-schema.ts): per setting with a
 * panel form its label, input kind, choices, help text and when it applies.
 * Forms are parsed in server-forms.ts.
 */
import { CLOUD_LABELS } from '../auth/clouds.js';
import { SETTING_KEYS, settingSpec, type AppliesTo, type FieldKind, type SecretKey } from '../store/server-schema.js';
import { hasSecret, type EmailServer, type ServerSettings } from '../store/servers.js';

export type { FieldKind };

export interface Choice {
  value: string;
  label: string;
}

export interface FieldSpec {
  /** URL segment of the edit form: /servers/:id/edit/:slug */
  slug: string;
  label: string;
  /** The setting this form edits (the cloud form also edits authorityHost and smtpResource). */
  key: keyof ServerSettings;
  kind: FieldKind;
  choices?: Choice[];
  /** Empty input clears the setting. */
  optional?: boolean;
  inputType?: 'text' | 'email';
  placeholder?: string;
  /** A secret of several lines (PEM), pasted or uploaded as a file of these types; it may also be removed. */
  upload?: { accept: string };
  help: string;
  /** Whether this server shows the setting at all. */
  shows(server: Pick<EmailServer, 'method' | 'signInMode'>): boolean;
}

export const SIGN_IN_MODE_LABELS = { authorize: 'Authorize Account', application: 'Application' } as const;
export const SEND_VIA_LABELS = { smtp: 'SMTP (XOAUTH2 to Server Host)', graph: 'Microsoft Graph' } as const;

/** How the panel names a choice where it differs from the stored value. */
const CHOICE_LABELS: Partial<Record<keyof ServerSettings, Readonly<Record<string, string>>>> = {
  signInMode: SIGN_IN_MODE_LABELS,
  cloud: CLOUD_LABELS,
  sendVia: SEND_VIA_LABELS,
};

const showsFor =
  (appliesTo: AppliesTo) =>
  (server: Pick<EmailServer, 'method'>): boolean =>
    appliesTo === 'all' || server.method === appliesTo;

function choicesOf(key: keyof ServerSettings): Choice[] | undefined {
  const { schema } = settingSpec(key);
  if (!('options' in schema) || !Array.isArray(schema.options)) return undefined;
  return (schema.options as string[]).map((value) => ({ value, label: CHOICE_LABELS[key]?.[value] ?? value }));
}

export const FIELDS: readonly FieldSpec[] = SETTING_KEYS.flatMap((key): FieldSpec[] => {
  const spec = settingSpec(key);
  if (!spec.panel) return [];
  const { slug, help, placeholder, inputType, upload } = spec.panel;
  const choices = choicesOf(key);
  const optional = spec.kind !== 'secret' && spec.schema.safeParse(null).success;
  return [
    {
      slug,
      label: spec.label,
      key,
      kind: spec.kind,
      ...(choices ? { choices } : {}),
      ...(optional ? { optional } : {}),
      ...(inputType ? { inputType } : {}),
      ...(placeholder ? { placeholder } : {}),
      ...(upload ? { upload } : {}),
      help,
      shows: showsFor(spec.appliesTo),
    },
  ];
});

/** Labels of the Custom cloud's extra settings, edited with the cloud form. */
export const CUSTOM_CLOUD_LABELS = {
  authorityHost: settingSpec('authorityHost').label,
  smtpResource: settingSpec('smtpResource').label,
  graphEndpoint: settingSpec('graphEndpoint').label,
} as const;

export function fieldBySlug(slug: string): FieldSpec | undefined {
  return FIELDS.find((f) => f.slug === slug);
}

/** Plain text of a setting's current value; secrets only say whether they are set. */
export function displayValue(spec: FieldSpec, server: EmailServer): string {
  if (spec.kind === 'secret') {
    return hasSecret(server, spec.key as SecretKey) ? 'Set (hidden)' : 'Not set';
  }
  const value = server[spec.key as keyof EmailServer];
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : 'Not set';
  if (value === null || value === undefined || value === '') return 'Not set';
  return spec.choices?.find((c) => c.value === value)?.label ?? String(value);
}

/** The text a form input starts with; never a secret. */
export function inputValue(server: EmailServer, key: keyof ServerSettings): string {
  if (settingSpec(key).kind === 'secret') return '';
  const value = server[key as keyof EmailServer];
  if (Array.isArray(value)) return value.join(', ');
  return value === null || value === undefined ? '' : String(value);
}
