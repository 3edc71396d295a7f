/**
 * The alert settings described once: the panel's form is read with these
 * schemas, and the defaults are the migration's. The webhook URL is
 * write-only: an empty field keeps the stored one, `clearWebhook` removes it,
 * and a form never carries it back to the browser.
 */
import { z } from 'zod';
import type { AlertSettingsChange } from '../store/alerts.js';
import { firstIssue } from '../store/access-schemas.js';

/** Defaults (also the migration's column defaults). */
export const ALERT_DEFAULTS = { oldestMinutes: 30, failuresPerHour: 10, repeatMinutes: 240 } as const;
const MAX_EMAILS = 20;
const WEEK_MINUTES = 7 * 24 * 60;

const wholeNumber = (label: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${label} is a whole number.`)
    .transform(Number)
    .pipe(z.number().min(min, `${label} is at least ${min}.`).max(max, `${label} is at most ${max}.`));

export const alertSettingsSchema = {
  webhookUrl: z
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
  emails: z
    .string()
    .transform((text) =>
      text
        .split(/[\s,;]+/)
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.email({ error: (issue) => `${JSON.stringify(issue.input)} is not an email address.` }))
        .max(MAX_EMAILS, `At most ${MAX_EMAILS} addresses.`)
        .transform((list) => [...new Set(list)]),
    ),
  oldestMinutes: wholeNumber('The waiting time', 1, WEEK_MINUTES),
  failuresPerHour: wholeNumber('The number of failures', 1, 100_000),
  repeatMinutes: wholeNumber('The repeat interval', 5, WEEK_MINUTES),
};

export type AlertSettingsField = 'webhookUrl' | 'emails' | 'emailServerId' | 'oldestMinutes' | 'failuresPerHour' | 'repeatMinutes';

/** The settings form as typed (never the webhook URL), with a message per field that did not validate. */
export interface AlertSettingsForm {
  values: { emails: string; emailServerId: string; oldestMinutes: string; failuresPerHour: string; repeatMinutes: string };
  errors: Partial<Record<AlertSettingsField, string>>;
}

/** The settings form's fields as posted (text, trimmed); `clearWebhook` is the ticked box. */
export interface AlertSettingsInput {
  webhookUrl: string;
  clearWebhook: boolean;
  emails: string;
  emailServerId: string;
  oldestMinutes: string;
  failuresPerHour: string;
  repeatMinutes: string;
}

/**
 * Reads the settings form. Channels set in the environment (`locked`) are not taken from it.
 * Returns the change when every field is valid, else null with the messages in `form`.
 */
export function parseAlertSettings(
  input: AlertSettingsInput,
  serverIds: readonly number[],
  locked: { webhook: boolean; emails: boolean },
): { change: AlertSettingsChange | null; form: AlertSettingsForm } {
  const { webhookUrl, clearWebhook, ...values } = input;
  const errors: AlertSettingsForm['errors'] = {};
  const change: AlertSettingsChange = {};
  const take = <K extends keyof typeof alertSettingsSchema>(
    field: K,
    text: string,
  ): z.output<(typeof alertSettingsSchema)[K]> | undefined => {
    const result = alertSettingsSchema[field].safeParse(text);
    if (result.success) return result.data as z.output<(typeof alertSettingsSchema)[K]>;
    errors[field] = firstIssue(result.error);
    return undefined;
  };
  if (!locked.webhook) {
    if (webhookUrl !== '') change.webhookUrl = take('webhookUrl', webhookUrl);
    else if (clearWebhook) change.webhookUrl = null;
  }
  if (!locked.emails) change.emails = take('emails', values.emails);
  if (values.emailServerId === '') change.emailServerId = null;
  else if (serverIds.includes(Number(values.emailServerId))) change.emailServerId = Number(values.emailServerId);
  else errors.emailServerId = 'Choose one of the email servers.';
  change.oldestMinutes = take('oldestMinutes', values.oldestMinutes);
  change.failuresPerHour = take('failuresPerHour', values.failuresPerHour);
  change.repeatMinutes = take('repeatMinutes', values.repeatMinutes);
  return { change: Object.keys(errors).length === 0 ? change : null, form: { values, errors } };
}
