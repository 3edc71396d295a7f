/**
 * Where alert notices go. A channel set in the environment
 * (RELAY365_ALERT_WEBHOOK_URL, RELAY365_ALERT_EMAIL) wins over the panel's
 * setting for that channel, which the panel then shows read-only.
 */
import type { Config } from '../config.js';
import type { AlertChannel } from '../store/alerts.js';
import type { StoreSlice } from '../store/index.js';

export interface AlertChannels {
  /** The webhook to post to (a secret), or null. */
  webhookUrl: string | null;
  webhookFromEnv: boolean;
  /** Admin addresses alert emails go to (empty: no email channel). */
  emails: readonly string[];
  emailsFromEnv: boolean;
}

/** The channels in force now. */
export async function alertChannels(
  config: Pick<Config, 'alertWebhookUrl' | 'alertEmails'>,
  alerts: StoreSlice<{ alerts: 'webhookUrl' | 'settings' }>['alerts'],
): Promise<AlertChannels> {
  const webhookFromEnv = config.alertWebhookUrl !== null;
  const emailsFromEnv = config.alertEmails.length > 0;
  return {
    webhookUrl: webhookFromEnv ? config.alertWebhookUrl : await alerts.webhookUrl(),
    webhookFromEnv,
    emails: emailsFromEnv ? config.alertEmails : (await alerts.settings()).emails,
    emailsFromEnv,
  };
}

/** The channels that are set. */
export function configuredChannels(channels: AlertChannels): AlertChannel[] {
  return [...(channels.webhookUrl ? (['webhook'] as const) : []), ...(channels.emails.length > 0 ? (['email'] as const) : [])];
}
