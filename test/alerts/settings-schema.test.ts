/**
 * The alert settings' one description: the form read with it (a change, or a
 * message per field), channels the environment sets left alone, the stored
 * settings carried back to the form without the webhook URL, and a form field
 * with its label and help for every setting.
 */
import { describe, expect, it } from 'vitest';
import { AlertSettingsEditor } from '../../src/admin/views/alert-settings-form.js';
import {
  ALERT_SETTING_KEYS,
  alertLocks,
  alertSettingSpec,
  parseAlertSettings,
  storedAlertForm,
  type AlertSettingsInput,
} from '../../src/alerts/settings-schema.js';
import { loadConfig } from '../../src/config.js';
import type { AlertSettings } from '../../src/store/alerts.js';

const FORM: AlertSettingsInput = {
  webhookUrl: '',
  clearWebhook: false,
  emails: '',
  emailServerId: '',
  oldestMinutes: '30',
  failuresPerHour: '10',
  repeatMinutes: '240',
};
const SETTINGS: AlertSettings = {
  hasWebhook: true,
  emails: ['ops@contoso.test', 'it@contoso.test'],
  emailServerId: 7,
  oldestMinutes: 45,
  failuresPerHour: 5,
  repeatMinutes: 60,
};

describe('the alert settings form', () => {
  it('reads a valid form into one change', () => {
    const { change, form } = parseAlertSettings(
      {
        ...FORM,
        webhookUrl: ' https://hooks.example.test/x ',
        emails: 'ops@contoso.test; it@contoso.test\nops@contoso.test',
        emailServerId: '7',
        oldestMinutes: '45',
      },
      [7],
      {},
    );
    expect(change).toEqual({
      webhookUrl: 'https://hooks.example.test/x',
      emails: ['ops@contoso.test', 'it@contoso.test'],
      emailServerId: 7,
      oldestMinutes: 45,
      failuresPerHour: 10,
      repeatMinutes: 240,
    });
    expect(form.errors).toEqual({});
  });

  it('keeps the stored webhook URL for an empty field and removes it with the box', () => {
    expect(parseAlertSettings(FORM, [], {}).change).not.toHaveProperty('webhookUrl');
    expect(parseAlertSettings({ ...FORM, clearWebhook: true }, [], {}).change).toMatchObject({ webhookUrl: null, emailServerId: null });
  });

  it('gives each field that fails its first message, and the typed text back without the URL', () => {
    const typed = {
      webhookUrl: 'https://user:secret@hooks.example.test/x',
      clearWebhook: false,
      emails: 'ops@contoso.test, nobody',
      emailServerId: '8',
      oldestMinutes: '0',
      failuresPerHour: 'many',
      repeatMinutes: '20000',
    };
    const { change, form } = parseAlertSettings(typed, [7], {});
    expect(change).toBeNull();
    expect(form.errors).toEqual({
      webhookUrl: 'Enter the webhook URL as an http:// or https:// address, such as the incoming-webhook URL Teams or Slack gives you.',
      emails: '"nobody" is not an email address.',
      emailServerId: 'Choose one of the email servers.',
      oldestMinutes: 'The waiting time is at least 1.',
      failuresPerHour: 'The number of failures is a whole number.',
      repeatMinutes: 'The repeat interval is at most 10080.',
    });
    expect(form.values).toEqual({
      emails: 'ops@contoso.test, nobody',
      emailServerId: '8',
      oldestMinutes: '0',
      failuresPerHour: 'many',
      repeatMinutes: '20000',
    });
  });

  it('takes nothing the environment sets, and shows its addresses but never its URL', () => {
    const locks = alertLocks(
      loadConfig({ RELAY365_ALERT_WEBHOOK_URL: 'https://hooks.example.test/very-secret', RELAY365_ALERT_EMAIL: 'noc@contoso.test' }),
    );
    expect(locks).toEqual({
      webhookUrl: { variable: 'RELAY365_ALERT_WEBHOOK_URL', shown: '' },
      emails: { variable: 'RELAY365_ALERT_EMAIL', shown: 'noc@contoso.test' },
    });
    const { change } = parseAlertSettings({ ...FORM, webhookUrl: 'not a url', emails: 'not an address' }, [], locks);
    expect(change).toEqual({ emailServerId: null, oldestMinutes: 30, failuresPerHour: 10, repeatMinutes: 240 });
    expect(alertLocks(loadConfig({}))).toEqual({});
  });

  it('carries the stored settings back to the form, never the webhook URL', () => {
    expect(storedAlertForm(SETTINGS)).toEqual({
      values: {
        emails: 'ops@contoso.test, it@contoso.test',
        emailServerId: '7',
        oldestMinutes: '45',
        failuresPerHour: '5',
        repeatMinutes: '60',
      },
      errors: {},
    });
    expect(storedAlertForm({ ...SETTINGS, emails: [], emailServerId: null }).values).toMatchObject({ emails: '', emailServerId: '' });
  });

  it('shows a field with its label and help for every setting, each id once', () => {
    const html = String(
      AlertSettingsEditor({ settings: SETTINGS, locks: {}, servers: [], csrf: 'token', form: storedAlertForm(SETTINGS), canEdit: true }),
    );
    const ids = ALERT_SETTING_KEYS.map((key) => alertSettingSpec(key).panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const key of ALERT_SETTING_KEYS) {
      const { label, panel } = alertSettingSpec(key);
      expect(html).toContain(`<label for="${panel.id}">${label}</label>`);
      expect(html).toContain(`id="${panel.id}-help"`);
      expect(html).toMatch(new RegExp(`name="${key}"`));
    }
    expect(html).toContain('Save alert settings');
  });
});
