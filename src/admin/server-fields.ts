/**
 * The email server settings as the panel shows and edits them: one entry per
 * setting with its label (verbatim from the product contract), input kind,
 * choices, help text and when it applies. Forms are parsed in server-forms.ts.
 */
import { CLOUD_LABELS } from '../auth/clouds.js';
import { AUTH_METHODS, CLOUDS, FROM_HANDLINGS, SECURE_MODES, type EmailServer, type ServerSettings } from '../store/servers.js';

export interface Choice {
  value: string;
  label: string;
}

/** `list`: several values in one text input, separated by commas or new lines. */
export type FieldKind = 'text' | 'number' | 'choice' | 'secret' | 'date' | 'cloud' | 'list';

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
  help: string;
  /** Whether this server shows the setting at all. */
  shows(server: Pick<EmailServer, 'method' | 'signInMode'>): boolean;
}

const always = (): boolean => true;
const office365 = (s: Pick<EmailServer, 'method'>): boolean => s.method === 'office365';
const passwordAuth = (s: Pick<EmailServer, 'method'>): boolean => s.method === 'password';
const same = (values: readonly string[]): Choice[] => values.map((v) => ({ value: v, label: v }));

export const SIGN_IN_MODE_LABELS = { authorize: 'Authorize Account', application: 'Application' } as const;

export const FIELDS: readonly FieldSpec[] = [
  {
    slug: 'name',
    label: 'Name',
    key: 'name',
    kind: 'text',
    help: 'How this server is called in the panel, the relay log and the command line.',
    shows: always,
  },
  {
    slug: 'method',
    label: 'SMTP Authentication Method',
    key: 'method',
    kind: 'choice',
    choices: same(AUTH_METHODS),
    help: 'office365 signs in to Microsoft 365 with an OAuth token (XOAUTH2). password logs in with a user name and password. none sends without logging in.',
    shows: always,
  },
  {
    slug: 'sign-in-mode',
    label: 'Office 365 Sign-in Mode',
    key: 'signInMode',
    kind: 'choice',
    choices: [
      { value: 'authorize', label: SIGN_IN_MODE_LABELS.authorize },
      { value: 'application', label: SIGN_IN_MODE_LABELS.application },
    ],
    help: "Authorize Account: you sign in once as the sending user and relay365 keeps that sign-in alive. Application: relay365 uses only the app's own credentials; the app then needs the SMTP.SendAsApp permission and rights on the mailbox in Exchange.",
    shows: office365,
  },
  {
    slug: 'secure',
    label: 'Use Secure Connection',
    key: 'secure',
    kind: 'choice',
    choices: same(SECURE_MODES),
    help: 'tls upgrades the connection with STARTTLS (what Microsoft 365 expects on port 587). ssl is encrypted from the first byte (usually port 465). none only for a trusted server on your own network.',
    shows: always,
  },
  { slug: 'port', label: 'Server Port', key: 'port', kind: 'number', help: 'Microsoft 365 takes mail on 587.', shows: always },
  {
    slug: 'host',
    label: 'Server Host',
    key: 'host',
    kind: 'text',
    placeholder: 'smtp.office365.com',
    help: 'smtp.office365.com for Microsoft 365 worldwide; national clouds have their own host.',
    shows: always,
  },
  {
    slug: 'tenant-id',
    label: 'Office 365 Tenant ID',
    key: 'tenantId',
    kind: 'text',
    optional: true,
    placeholder: '00000000-0000-0000-0000-000000000000',
    help: "The Directory (tenant) ID on the overview page of your app registration in Entra ID, or one of the tenant's domains.",
    shows: office365,
  },
  {
    slug: 'client-id',
    label: 'Office 365 Client ID',
    key: 'clientId',
    kind: 'text',
    optional: true,
    placeholder: '00000000-0000-0000-0000-000000000000',
    help: 'The Application (client) ID on the same overview page.',
    shows: office365,
  },
  {
    slug: 'client-secret',
    label: 'Office 365 Client Secret',
    key: 'clientSecret',
    kind: 'secret',
    help: "The secret's Value from Certificates & secrets (the Secret ID next to it does not work). It is kept encrypted and never displayed again; saving a new one replaces it.",
    shows: office365,
  },
  {
    slug: 'client-secret-expires',
    label: 'Office 365 Client Secret Expires',
    key: 'clientSecretExpires',
    kind: 'date',
    optional: true,
    help: 'The expiry date shown next to the secret. From 30 days before, every page reminds you to create a new one.',
    shows: office365,
  },
  {
    slug: 'cloud',
    label: 'Office 365 Cloud',
    key: 'cloud',
    kind: 'cloud',
    choices: CLOUDS.map((c) => ({ value: c, label: CLOUD_LABELS[c] })),
    help: 'The Microsoft cloud your tenant lives in. Custom needs an Authority Host (where sign-in happens) and an SMTP Resource (whom the token is for).',
    shows: office365,
  },
  {
    slug: 'mailbox',
    label: 'Mailbox',
    key: 'mailbox',
    kind: 'text',
    inputType: 'email',
    optional: true,
    placeholder: 'relay@contoso.com',
    help: 'The address relay365 logs in as. With Authorize Account it is filled in from the account you sign in with; a shared mailbox works if that account has Full Access to it.',
    shows: office365,
  },
  {
    slug: 'username',
    label: 'Username',
    key: 'username',
    kind: 'text',
    optional: true,
    help: 'The login name at the upstream server.',
    shows: passwordAuth,
  },
  {
    slug: 'password',
    label: 'Password',
    key: 'password',
    kind: 'secret',
    help: 'Kept encrypted and never displayed again; saving a new one replaces it.',
    shows: passwordAuth,
  },
  {
    slug: 'max-connections',
    label: 'Max Connections',
    key: 'maxConnections',
    kind: 'number',
    help: 'Connections open at the same time. Microsoft 365 allows 3 per mailbox.',
    shows: always,
  },
  {
    slug: 'messages-per-minute',
    label: 'Messages per Minute',
    key: 'messagesPerMinute',
    kind: 'number',
    help: 'Microsoft 365 accepts 30 a minute per mailbox; relay365 paces itself below this.',
    shows: always,
  },
  {
    slug: 'recipients-per-day',
    label: 'Recipients per Day',
    key: 'recipientsPerDay',
    kind: 'number',
    help: 'Microsoft 365 allows 10,000 recipients per mailbox in any 24 hours; mail beyond waits.',
    shows: always,
  },
  {
    slug: 'from-handling',
    label: 'From Address Handling',
    key: 'fromHandling',
    kind: 'choice',
    choices: same(FROM_HANDLINGS),
    help: 'keep sends the From header as the application wrote it. rewrite puts Mailbox in From and the original address in Reply-To. reject refuses mail whose From is not Mailbox.',
    shows: always,
  },
  {
    slug: 'send-as',
    label: 'Send As Addresses',
    key: 'sendAs',
    kind: 'list',
    placeholder: 'sales@contoso.com, billing@contoso.com',
    help: 'Other addresses Mailbox has Send As permission on in Exchange, separated by commas or new lines. With reject, mail from these addresses is accepted too; with rewrite, their From is left as it is.',
    shows: always,
  },
];

/** Labels of the Custom cloud's two extra settings. */
export const CUSTOM_CLOUD_LABELS = { authorityHost: 'Authority Host', smtpResource: 'SMTP Resource' } as const;

export function fieldBySlug(slug: string): FieldSpec | undefined {
  return FIELDS.find((f) => f.slug === slug);
}

/** Plain text of a setting's current value; secrets only say whether they are set. */
export function displayValue(spec: FieldSpec, server: EmailServer): string {
  if (spec.kind === 'secret') {
    const isSet = spec.key === 'clientSecret' ? server.hasClientSecret : server.hasPassword;
    return isSet ? 'Set (hidden)' : 'Not set';
  }
  const value = server[spec.key as keyof EmailServer];
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : 'Not set';
  if (value === null || value === undefined || value === '') return 'Not set';
  return spec.choices?.find((c) => c.value === value)?.label ?? String(value);
}

/** The text a form input starts with; never a secret. */
export function inputValue(server: EmailServer, key: keyof ServerSettings): string {
  if (key === 'clientSecret' || key === 'password') return '';
  const value = server[key as keyof EmailServer];
  if (Array.isArray(value)) return value.join(', ');
  return value === null || value === undefined ? '' : String(value);
}
