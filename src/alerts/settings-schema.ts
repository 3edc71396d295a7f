/**
 * The alert settings described once, as the email server settings are in
 * store/server-schema.ts: per setting the schema that reads the panel's text
 * (with one message an admin can act on), its label, panel field and help, and
 * the Config field of the variable that sets a channel instead of the panel.
 * The Alerts page's fields, the form's validation and its values are derived
 * from `ALERT_SETTINGS`. A secret (the webhook URL) is write-only: an empty
 * field keeps the stored one, `clearWebhook` removes it, and a form never
 * carries it back to the browser.
 */
import { z } from 'zod';
import { isAddress } from '../address.js';
import { VARIABLES } from '../config/schema.js';
import type { Config } from '../config.js';
import type { AlertSettings, AlertSettingsChange } from '../store/alerts.js';

const MAX_EMAILS = 20;
const WEEK_MINUTES = 7 * 24 * 60;

/** How a setting is typed: a write-only URL, a list of addresses, one of the email servers, or a whole number. */
export type AlertFieldKind = 'secret' | 'list' | 'server' | 'number';

/** The Config fields of the variables that set an alert channel. */
type ChannelVariable = 'alertWebhookUrl' | 'alertEmails';

export interface AlertSettingSpec<S extends z.ZodType = z.ZodType> {
  /** Reads the field's text; a `server` field is also checked against the servers there are. */
  schema: S;
  label: string;
  kind: AlertFieldKind;
  /** The fieldset of the form it is in. */
  section: 'channels' | 'thresholds';
  /** The field's element id (its error and help are `{id}-error`, `{id}-help`), help text and placeholder. */
  panel: { id: string; help: string; placeholder?: string };
  /** The variable that, when set, sets this setting instead of the panel. */
  env?: ChannelVariable;
}

const setting = <S extends z.ZodType, K extends AlertFieldKind>(
  spec: AlertSettingSpec<S> & { kind: K },
): AlertSettingSpec<S> & { kind: K } => spec;

const wholeNumber = (label: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${label} is a whole number.`)
    .transform(Number)
    .pipe(z.number().min(min, `${label} is at least ${min}.`).max(max, `${label} is at most ${max}.`));

/** Every alert setting, in the order the form shows them. */
export const ALERT_SETTINGS = {
  webhookUrl: setting({
    schema: z
      .string()
      .trim()
      .max(2048, 'A webhook URL has at most 2048 characters.')
      .refine((text) => {
        try {
          const url = new URL(text);
          return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
        } catch {
          return false;
        }
      }, 'Enter the webhook URL as an http:// or https:// address, such as the incoming-webhook URL Teams or Slack gives you.'),
    label: 'Webhook URL',
    kind: 'secret',
    section: 'channels',
    panel: {
      id: 'alert-webhook',
      help: 'A Microsoft Teams or Slack incoming-webhook URL works; it gets a JSON POST per notice. It is stored encrypted and never shown again.',
    },
    env: 'alertWebhookUrl',
  }),
  emails: setting({
    schema: z
      .string()
      .transform((text) =>
        text
          .split(/[\s,;]+/)
          .map((entry) => entry.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().refine(isAddress, { error: (issue) => `${JSON.stringify(issue.input)} is not an email address.` }))
          .max(MAX_EMAILS, `At most ${MAX_EMAILS} addresses.`)
          .transform((list) => [...new Set(list)]),
      ),
    label: 'Admin email addresses',
    kind: 'list',
    section: 'channels',
    panel: { id: 'alert-emails', help: 'Separated by commas or new lines; empty: no alert emails.' },
    env: 'alertEmails',
  }),
  emailServerId: setting({
    // Empty is the default email server.
    schema: z.string().transform((text) => (text === '' ? null : Number(text))),
    label: 'Send alert email through',
    kind: 'server',
    section: 'channels',
    panel: {
      id: 'alert-server',
      help: 'When this server is the one that is broken, alert email goes through another authorized server.',
    },
  }),
  oldestMinutes: setting({
    schema: wholeNumber('The waiting time', 1, WEEK_MINUTES),
    label: 'Oldest waiting message (minutes)',
    kind: 'number',
    section: 'thresholds',
    panel: { id: 'alert-oldest', help: 'Alert when a message has waited longer than this.' },
  }),
  failuresPerHour: setting({
    schema: wholeNumber('The number of failures', 1, 100_000),
    label: 'Failed messages per hour',
    kind: 'number',
    section: 'thresholds',
    panel: { id: 'alert-failures', help: 'Alert when this many messages failed within the last hour.' },
  }),
  repeatMinutes: setting({
    schema: wholeNumber('The repeat interval', 5, WEEK_MINUTES),
    label: 'Repeat interval (minutes)',
    kind: 'number',
    section: 'thresholds',
    panel: { id: 'alert-repeat', help: 'An alert that lasts is sent again this often; client secret expiry warnings are sent once.' },
  }),
};

type Settings = typeof ALERT_SETTINGS;
export type AlertSettingKey = keyof Settings;
export const ALERT_SETTING_KEYS = Object.keys(ALERT_SETTINGS) as AlertSettingKey[];

/** Each setting's description, keyed by itself, for loops over all settings. */
export function alertSettingSpec(key: AlertSettingKey): AlertSettingSpec {
  return ALERT_SETTINGS[key];
}

/** Settings the environment sets, each with its variable and what the page may show of its value (nothing of a secret). */
export type AlertLocks = Partial<Record<AlertSettingKey, { variable: string; shown: string }>>;

/** Which settings the environment sets instead of the panel. */
export function alertLocks(config: Pick<Config, ChannelVariable>): AlertLocks {
  const locks: AlertLocks = {};
  for (const key of ALERT_SETTING_KEYS) {
    const field = alertSettingSpec(key).env;
    const value = field === undefined ? null : config[field];
    if (field === undefined || value === null || value.length === 0) continue;
    const { name, secret } = VARIABLES[field];
    locks[key] = { variable: name, shown: secret ? '' : Array.isArray(value) ? value.join(', ') : value };
  }
  return locks;
}

/** The settings form as typed (never a secret), with a message per field that did not validate. */
export interface AlertSettingsForm {
  values: Partial<Record<AlertSettingKey, string>>;
  errors: Partial<Record<AlertSettingKey, string>>;
}

/** The settings form's fields as posted (text, trimmed); `clearWebhook` is the ticked box. */
export type AlertSettingsInput = Record<AlertSettingKey, string> & { clearWebhook: boolean };

/** The settings a form carries back to the browser: all but secrets. */
function shownKeys(): AlertSettingKey[] {
  return ALERT_SETTING_KEYS.filter((key) => alertSettingSpec(key).kind !== 'secret');
}

/** The form of the stored settings; secrets stay empty. */
export function storedAlertForm(settings: AlertSettings): AlertSettingsForm {
  const values: AlertSettingsForm['values'] = {};
  for (const key of shownKeys()) {
    const value = settings[key as Exclude<AlertSettingKey, 'webhookUrl'>];
    values[key] = value === null ? '' : Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { values, errors: {} };
}

/** The form's schema: every setting's, a secret may be cleared (null), and a server must be one of `serverIds`. */
function formSchema(serverIds: readonly number[]) {
  const shape = Object.fromEntries(
    ALERT_SETTING_KEYS.map((key) => {
      const { schema, kind } = alertSettingSpec(key);
      if (kind === 'secret') return [key, schema.nullable()];
      if (kind === 'server') {
        return [
          key,
          schema.refine((id) => id === null || (typeof id === 'number' && serverIds.includes(id)), 'Choose one of the email servers.'),
        ];
      }
      return [key, schema];
    }),
  ) as { [K in AlertSettingKey]: Settings[K]['kind'] extends 'secret' ? z.ZodNullable<Settings[K]['schema']> : Settings[K]['schema'] };
  return z.object(shape).partial();
}

/**
 * Reads the settings form. Settings the environment sets (`locks`) are not taken from it.
 * Returns the change when every field is valid, else null with the messages in `form`.
 */
export function parseAlertSettings(
  input: AlertSettingsInput,
  serverIds: readonly number[],
  locks: AlertLocks,
): { change: AlertSettingsChange | null; form: AlertSettingsForm } {
  const { clearWebhook, ...fields } = input;
  const taken: Partial<Record<AlertSettingKey, string | null>> = {};
  for (const key of ALERT_SETTING_KEYS) {
    if (locks[key]) continue;
    // An empty secret keeps the stored one unless its box is ticked.
    if (alertSettingSpec(key).kind === 'secret' && fields[key] === '') {
      if (clearWebhook) taken[key] = null;
    } else taken[key] = fields[key];
  }
  const values = Object.fromEntries(shownKeys().map((key) => [key, fields[key]]));
  const result = formSchema(serverIds).safeParse(taken);
  if (result.success) return { change: result.data, form: { values, errors: {} } };
  const errors: AlertSettingsForm['errors'] = {};
  for (const issue of result.error.issues) {
    const key = issue.path[0] as AlertSettingKey;
    errors[key] ??= issue.message;
  }
  return { change: null, form: { values, errors } };
}
