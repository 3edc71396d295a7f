/**
 * An email server's settings described once: per setting its zod schema (the
 * one validation and its message), default, label (verbatim from the product
 * contract), panel form, CLI flag, column and whether it is a secret. The
 * store, the panel, the CLI and the JSON output are derived from `SETTINGS`,
 * so a new setting is one edit here (plus its database column).
 */
import { z } from 'zod';
import { isAddress } from '../address.js';
import { clientCertificateProblem } from '../client-certificate.js';
import { isHostName } from '../host-name.js';
import { DOMAIN, GUID, httpsUrl, IPV4, MAX_SEND_AS, NAME, validDate } from './setting-checks.js';

export const AUTH_METHODS = ['office365', 'password', 'none'] as const;
export const SIGN_IN_MODES = ['authorize', 'application'] as const;
export const SECURE_MODES = ['tls', 'ssl', 'none'] as const;
export const CLOUDS = ['global', 'usgov', 'usdod', 'china', 'custom'] as const;
export const FROM_HANDLINGS = ['keep', 'rewrite', 'reject'] as const;
/** Bounce Notices and Delay Notices. */
export const NOTICE_SWITCHES = ['on', 'off'] as const;
/** Office 365 Send Via: XOAUTH2 to the SMTP host, or Microsoft Graph's sendMail. */
export const SEND_VIA = ['smtp', 'graph'] as const;

/**
 * How a setting is typed and stored. `list`: several values in one input, one
 * entry a line in its column; `secret`: write-only, sealed in its column.
 */
export type FieldKind = 'text' | 'number' | 'choice' | 'secret' | 'date' | 'cloud' | 'list';

/** The sign-in method a setting belongs to; `all` for every server. */
export type AppliesTo = 'all' | 'office365' | 'password';

export interface SettingSpec<S extends z.ZodType = z.ZodType> {
  /** Validation: the value as stored, with one message an admin can act on. */
  schema: S;
  /** A new server's value; without one the setting must be given. */
  default?: z.output<S>;
  label: string;
  kind: FieldKind;
  appliesTo: AppliesTo;
  column: string;
  /** `relay365 server add|set --FLAG`; a secret's flag names a file holding it. */
  flag: string;
  /** What the usage text shows after the flag, when not derived from the kind. */
  flagArg?: string;
  /** The panel's edit form (/servers/:id/edit/:slug); without one it is edited with the Cloud form. */
  panel?: {
    slug: string;
    help: string;
    placeholder?: string;
    inputType?: 'text' | 'email';
    /** A secret of several lines (PEM): pasted into a text area or uploaded as a file of these types. */
    upload?: { accept: string };
  };
}

const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `Choose one of ${values.join(', ')}.` });
const wholeNumber = (min: number, max: number) => {
  const message = `Enter a whole number from ${min} to ${max}.`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};
/** A text setting that may be cleared (null). */
const optionalText = (test: (s: string) => boolean, message: string) => z.string({ error: message }).refine(test, message).nullable();

const sendAsList = z
  .array(z.unknown(), { error: 'Enter email addresses separated by commas or new lines.' })
  .superRefine((list, ctx) => {
    if (list.length > MAX_SEND_AS) {
      ctx.addIssue({ code: 'custom', message: `Enter at most ${MAX_SEND_AS} addresses.` });
      return;
    }
    const bad = list.find((entry) => typeof entry !== 'string' || !isAddress(entry));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(bad)} is not an email address: enter addresses such as sales@contoso.com, separated by commas or new lines.`,
      });
    }
  })
  .transform((list) => list as string[]);

const setting = <S extends z.ZodType, K extends FieldKind>(spec: SettingSpec<S> & { kind: K }): SettingSpec<S> & { kind: K } => spec;

/** Every setting, in the order the panel shows them. */
export const SETTINGS = {
  name: setting({
    schema: z
      .string({ error: 'Use 1-64 letters, digits, spaces, dots, dashes or underscores.' })
      .regex(NAME, 'Use 1-64 letters, digits, spaces, dots, dashes or underscores.')
      // JSON Schema patterns carry no flags: the `u` of NAME is implied there.
      .meta({ pattern: NAME.source }),
    label: 'Name',
    kind: 'text',
    appliesTo: 'all',
    column: 'name',
    flag: 'name',
    flagArg: 'N',
    panel: { slug: 'name', help: 'How this server is called in the panel, the relay log and the command line.' },
  }),
  method: setting({
    schema: choice(AUTH_METHODS),
    default: 'office365',
    label: 'SMTP Authentication Method',
    kind: 'choice',
    appliesTo: 'all',
    column: 'method',
    flag: 'method',
    panel: {
      slug: 'method',
      help: 'office365 signs in to Microsoft 365 with an OAuth token (XOAUTH2). password logs in with a user name and password. none sends without logging in.',
    },
  }),
  signInMode: setting({
    schema: choice(SIGN_IN_MODES),
    default: 'application',
    label: 'Office 365 Sign-in Mode',
    kind: 'choice',
    appliesTo: 'office365',
    column: 'sign_in_mode',
    flag: 'mode',
    panel: {
      slug: 'sign-in-mode',
      help: "Authorize Account: you sign in once as the sending user and relay365 keeps that sign-in alive. Application: relay365 uses only the app's own credentials; the app then needs the SMTP.SendAsApp permission and rights on the mailbox in Exchange.",
    },
  }),
  secure: setting({
    schema: choice(SECURE_MODES),
    default: 'tls',
    label: 'Use Secure Connection',
    kind: 'choice',
    appliesTo: 'all',
    column: 'secure',
    flag: 'secure',
    panel: {
      slug: 'secure',
      help: 'tls upgrades the connection with STARTTLS (what Microsoft 365 expects on port 587). ssl is encrypted from the first byte (usually port 465). none only for a trusted server on your own network.',
    },
  }),
  port: setting({
    schema: wholeNumber(1, 65535),
    default: 587,
    label: 'Server Port',
    kind: 'number',
    appliesTo: 'all',
    column: 'port',
    flag: 'port',
    flagArg: 'PORT',
    panel: { slug: 'port', help: 'Microsoft 365 takes mail on 587.' },
  }),
  host: setting({
    schema: z
      .string({ error: 'Enter a host name such as smtp.office365.com.' })
      .refine((s) => isHostName(s) || IPV4.test(s), 'Enter a host name such as smtp.office365.com.'),
    // The cloud's SMTP host for Office 365 (newServerSettings); none for other servers.
    default: '',
    label: 'Server Host',
    kind: 'text',
    appliesTo: 'all',
    column: 'host',
    flag: 'host',
    flagArg: 'HOST',
    panel: {
      slug: 'host',
      placeholder: 'smtp.office365.com',
      help: 'smtp.office365.com for Microsoft 365 worldwide; national clouds have their own host.',
    },
  }),
  tenantId: setting({
    schema: optionalText(
      (s) => GUID.test(s) || DOMAIN.test(s),
      'Enter the Directory (tenant) ID, a GUID, or a domain such as contoso.onmicrosoft.com.',
    ),
    default: null,
    label: 'Office 365 Tenant ID',
    kind: 'text',
    appliesTo: 'office365',
    column: 'tenant_id',
    flag: 'tenant-id',
    flagArg: 'ID',
    panel: {
      slug: 'tenant-id',
      placeholder: '00000000-0000-0000-0000-000000000000',
      help: "The Directory (tenant) ID on the overview page of your app registration in Entra ID, or one of the tenant's domains.",
    },
  }),
  clientId: setting({
    schema: optionalText((s) => GUID.test(s), 'Enter the Application (client) ID, a GUID such as 00000000-0000-0000-0000-000000000000.'),
    default: null,
    label: 'Office 365 Client ID',
    kind: 'text',
    appliesTo: 'office365',
    column: 'client_id',
    flag: 'client-id',
    flagArg: 'ID',
    panel: {
      slug: 'client-id',
      placeholder: '00000000-0000-0000-0000-000000000000',
      help: 'The Application (client) ID on the same overview page.',
    },
  }),
  clientSecret: setting({
    schema: optionalText((s) => s.length > 0 && s.length <= 1024 && !/[\r\n]/.test(s), 'Paste the client secret value (one line).'),
    default: null,
    label: 'Office 365 Client Secret',
    kind: 'secret',
    appliesTo: 'office365',
    column: 'client_secret_enc',
    flag: 'client-secret-file',
    panel: {
      slug: 'client-secret',
      help: "The secret's Value from Certificates & secrets (the Secret ID next to it does not work). It is kept encrypted and never displayed again; saving a new one replaces it.",
    },
  }),
  clientSecretExpires: setting({
    schema: optionalText(validDate, 'Enter a date as YYYY-MM-DD.'),
    default: null,
    label: 'Office 365 Client Secret Expires',
    kind: 'date',
    appliesTo: 'office365',
    column: 'client_secret_expires',
    flag: 'client-secret-expires',
    panel: {
      slug: 'client-secret-expires',
      help: 'The expiry date shown next to the secret. From 30 days before, every page reminds you to create a new one.',
    },
  }),
  clientCertificate: setting({
    schema: z
      .string({ error: 'Paste the certificate and its private key in PEM.' })
      .superRefine((text, ctx) => {
        const problem = clientCertificateProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .nullable(),
    default: null,
    label: 'Office 365 Client Certificate',
    kind: 'secret',
    appliesTo: 'office365',
    column: 'client_certificate_enc',
    flag: 'client-certificate-file',
    panel: {
      slug: 'client-certificate',
      help: 'The certificate uploaded to the app registration (Certificates & secrets → Certificates) followed by its private key, both in PEM (an RSA key without a password). relay365 signs in with it instead of the client secret when both are set; Microsoft recommends certificates over secrets. It is kept encrypted; the panel shows only its SHA-256 thumbprint and expiry.',
      upload: { accept: '.pem,.crt,.cer,.key,.txt' },
    },
  }),
  cloud: setting({
    schema: choice(CLOUDS),
    default: 'global',
    label: 'Office 365 Cloud',
    kind: 'cloud',
    appliesTo: 'office365',
    column: 'cloud',
    flag: 'cloud',
    panel: {
      slug: 'cloud',
      help: 'The Microsoft cloud your tenant lives in. Custom needs an Authority Host (where sign-in happens) and an SMTP Resource (whom the token is for).',
    },
  }),
  authorityHost: setting({
    schema: optionalText(httpsUrl, 'Enter an https:// address without a path, such as https://login.microsoftonline.com.'),
    default: null,
    label: 'Authority Host',
    kind: 'text',
    appliesTo: 'office365',
    column: 'authority_host',
    flag: 'authority-host',
    flagArg: 'URL',
  }),
  smtpResource: setting({
    schema: optionalText(httpsUrl, 'Enter an https:// address without a path, such as https://outlook.office365.com.'),
    default: null,
    label: 'SMTP Resource',
    kind: 'text',
    appliesTo: 'office365',
    column: 'smtp_resource',
    flag: 'smtp-resource',
    flagArg: 'URL',
  }),
  graphEndpoint: setting({
    schema: optionalText(httpsUrl, 'Enter an https:// address without a path, such as https://graph.microsoft.com.'),
    default: null,
    label: 'Graph Endpoint',
    kind: 'text',
    appliesTo: 'office365',
    column: 'graph_endpoint',
    flag: 'graph-endpoint',
    flagArg: 'URL',
  }),
  sendVia: setting({
    schema: choice(SEND_VIA),
    default: 'smtp',
    label: 'Office 365 Send Via',
    kind: 'choice',
    appliesTo: 'office365',
    column: 'send_via',
    flag: 'send-via',
    panel: {
      slug: 'send-via',
      help: 'smtp sends with XOAUTH2 to the Server Host (SMTP AUTH must be allowed for the mailbox); graph sends with Microsoft Graph sendMail, for tenants where SMTP AUTH is off (the app needs the Mail.Send permission, and Mail.ReadWrite for messages over 3 MB).',
    },
  }),
  mailbox: setting({
    schema: optionalText(isAddress, 'Enter an email address such as relay@contoso.com.'),
    default: null,
    label: 'Mailbox',
    kind: 'text',
    appliesTo: 'office365',
    column: 'mailbox',
    flag: 'mailbox',
    flagArg: 'ADDRESS',
    panel: {
      slug: 'mailbox',
      inputType: 'email',
      placeholder: 'relay@contoso.com',
      help: 'The address relay365 logs in as. With Authorize Account it is filled in from the account you sign in with; a shared mailbox works if that account has Full Access to it.',
    },
  }),
  username: setting({
    schema: optionalText((s) => s.length > 0 && s.length <= 320, 'Enter the user name.'),
    default: null,
    label: 'Username',
    kind: 'text',
    appliesTo: 'password',
    column: 'username',
    flag: 'username',
    flagArg: 'USER',
    panel: { slug: 'username', help: 'The login name at the upstream server.' },
  }),
  password: setting({
    schema: optionalText((s) => s.length > 0 && s.length <= 1024, 'Enter the password.'),
    default: null,
    label: 'Password',
    kind: 'secret',
    appliesTo: 'password',
    column: 'password_enc',
    flag: 'password-file',
    panel: { slug: 'password', help: 'Kept encrypted and never displayed again; saving a new one replaces it.' },
  }),
  maxConnections: setting({
    schema: wholeNumber(1, 50),
    default: 3,
    label: 'Max Connections',
    kind: 'number',
    appliesTo: 'all',
    column: 'max_connections',
    flag: 'max-connections',
    panel: { slug: 'max-connections', help: 'Connections open at the same time. Microsoft 365 allows 3 per mailbox.' },
  }),
  messagesPerMinute: setting({
    schema: wholeNumber(1, 100_000),
    default: 30,
    label: 'Messages per Minute',
    kind: 'number',
    appliesTo: 'all',
    column: 'messages_per_minute',
    flag: 'messages-per-minute',
    panel: {
      slug: 'messages-per-minute',
      help: 'Microsoft 365 accepts 30 a minute per mailbox; relay365 paces itself below this.',
    },
  }),
  recipientsPerDay: setting({
    schema: wholeNumber(1, 10_000_000),
    default: 10_000,
    label: 'Recipients per Day',
    kind: 'number',
    appliesTo: 'all',
    column: 'recipients_per_day',
    flag: 'recipients-per-day',
    panel: {
      slug: 'recipients-per-day',
      help: 'Microsoft 365 allows 10,000 recipients per mailbox in any 24 hours; mail beyond waits.',
    },
  }),
  graphRequestsAtOnce: setting({
    schema: wholeNumber(1, 50),
    default: 4,
    label: 'Graph Requests at Once',
    kind: 'number',
    appliesTo: 'office365',
    column: 'graph_requests_at_once',
    flag: 'graph-requests-at-once',
    panel: {
      slug: 'graph-requests-at-once',
      help: "With Send Via graph: Microsoft Graph requests at the same time for this app (Client ID) across all its mailboxes; email servers of one app share the smallest value. Microsoft allows an app 4; raise it only if Microsoft counts your app's limit per mailbox.",
    },
  }),
  fromHandling: setting({
    schema: choice(FROM_HANDLINGS),
    default: 'keep',
    label: 'From Address Handling',
    kind: 'choice',
    appliesTo: 'all',
    column: 'from_handling',
    flag: 'from-handling',
    panel: {
      slug: 'from-handling',
      help: 'keep sends the From header as the application wrote it. rewrite puts Mailbox in From and the original address in Reply-To. reject refuses mail whose From is not Mailbox.',
    },
  }),
  /** Send As Addresses: addresses the mailbox may send as in Exchange; `reject` accepts them as senders too. */
  sendAs: setting({
    schema: sendAsList,
    default: [],
    label: 'Send As Addresses',
    kind: 'list',
    appliesTo: 'all',
    column: 'send_as',
    flag: 'send-as',
    flagArg: 'LIST (addresses the mailbox may send as, comma separated; "" clears)',
    panel: {
      slug: 'send-as',
      placeholder: 'sales@contoso.com, billing@contoso.com',
      help: 'Other addresses Mailbox has Send As permission on in Exchange, separated by commas or new lines. With reject, mail from these addresses is accepted too; with rewrite, their From is left as it is.',
    },
  }),
  bounceNotices: setting({
    schema: choice(NOTICE_SWITCHES),
    default: 'on',
    label: 'Bounce Notices',
    kind: 'choice',
    appliesTo: 'all',
    column: 'bounce_notices',
    flag: 'bounce-notices',
    panel: {
      slug: 'bounce-notices',
      help: 'on sends the envelope sender one delivery status notification (RFC 3464) when a message, or some of its recipients, fails for good after relay365 accepted it, with the reply and what to do. Never for an empty sender or automatic mail.',
    },
  }),
  delayNotices: setting({
    schema: choice(NOTICE_SWITCHES),
    default: 'off',
    label: 'Delay Notices',
    kind: 'choice',
    appliesTo: 'all',
    column: 'delay_notices',
    flag: 'delay-notices',
    panel: {
      slug: 'delay-notices',
      help: 'on also tells the envelope sender, once, when a message has waited more than 4 hours; relay365 keeps trying until the message expires.',
    },
  }),
} as const;

type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;

/** A setting's description for generated documents (the API's OpenAPI): its label and the panel's help. */
function documented(spec: SettingSpec): z.ZodType {
  const description = spec.panel ? `${spec.label}. ${spec.panel.help}` : spec.label;
  return spec.schema.meta({ ...spec.schema.meta(), description, ...(spec.kind === 'secret' ? { writeOnly: true } : {}) });
}

/** All settings of a server: what `SETTINGS` validates. */
export const serverSettingsSchema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([key, spec]) => [key, documented(spec as SettingSpec)])) as {
    [K in SettingKey]: Settings[K]['schema'];
  },
);

/** Settings a caller may set; secrets are given in plain text and sealed by the store. */
export type ServerSettings = z.output<typeof serverSettingsSchema>;

/** Settings that are write-only: sealed in the store, never shown or printed. */
export type SecretKey = { [K in SettingKey]: Settings[K]['kind'] extends 'secret' ? K : never }[SettingKey];

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Each setting's description, keyed by itself, for loops over all settings. */
export function settingSpec(key: SettingKey): SettingSpec {
  return SETTINGS[key] as SettingSpec;
}

/** A new server's values for every setting that has a default. */
export function settingDefaults(): Omit<ServerSettings, 'name'> {
  return Object.fromEntries(
    SETTING_KEYS.flatMap((key) => {
      const spec = settingSpec(key);
      return 'default' in spec ? [[key, Array.isArray(spec.default) ? [...spec.default] : spec.default]] : [];
    }),
  ) as Omit<ServerSettings, 'name'>;
}
