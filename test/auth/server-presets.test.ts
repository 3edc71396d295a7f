/**
 * Presets for Microsoft's endpoints as a new email server's settings: each
 * fills method, host, port, security and limits, what the admin gives wins,
 * and High Volume Email (over SMTP) renews its tokens earlier than MSAL would.
 */
import { describe, expect, it } from 'vitest';
import { earlyRefreshMs, HVE_HOST, isPresetName, PRESET_NAMES, PRESETS } from '../../src/auth/server-presets.js';
import { newServerSettings } from '../../src/auth/server-settings.js';
import { settingDefaults } from '../../src/store/server-schema.js';

describe('server presets', () => {
  it.each([
    [
      'office365',
      {
        method: 'office365',
        host: 'smtp.office365.com',
        port: 587,
        secure: 'tls',
        sendVia: 'smtp',
        maxConnections: 3,
        messagesPerMinute: 30,
        recipientsPerDay: 10_000,
      },
    ],
    [
      'hve',
      {
        method: 'office365',
        signInMode: 'application',
        host: 'smtp-hve.office365.com',
        port: 587,
        secure: 'tls',
        sendVia: 'smtp',
        maxConnections: 3,
        messagesPerMinute: 100,
        recipientsPerDay: 100_000,
      },
    ],
    [
      'acs',
      {
        method: 'password',
        host: 'smtp.azurecomm.net',
        port: 587,
        secure: 'tls',
        maxConnections: 1,
        messagesPerMinute: 1,
        recipientsPerDay: 2_400,
      },
    ],
  ] as const)('fills the %s preset’s method, endpoint and limits', (preset, expected) => {
    expect(newServerSettings({ name: 'new' }, preset)).toMatchObject({ name: 'new', ...expected });
  });

  it('keeps the defaults for everything a preset does not name', () => {
    const defaults = settingDefaults();
    for (const name of PRESET_NAMES) {
      const settings = newServerSettings({ name: 'new' }, name);
      const untouched = Object.keys(defaults).filter((key) => !(key in PRESETS[name].settings) && key !== 'host');
      for (const key of untouched)
        expect([name, key, settings[key as keyof typeof settings]]).toEqual([name, key, defaults[key as keyof typeof defaults]]);
    }
  });

  it('lets the values given win over the preset’s', () => {
    expect(
      newServerSettings(
        { name: 'acs', host: 'smtp.eu.azurecomm.net', port: 465, secure: 'ssl', messagesPerMinute: 30, username: 'res.app.tenant' },
        'acs',
      ),
    ).toMatchObject({
      method: 'password',
      host: 'smtp.eu.azurecomm.net',
      port: 465,
      secure: 'ssl',
      messagesPerMinute: 30,
      maxConnections: 1,
      username: 'res.app.tenant',
    });
    expect(newServerSettings({ name: 'hve', maxConnections: 2, signInMode: 'authorize' }, 'hve')).toMatchObject({
      host: HVE_HOST,
      maxConnections: 2,
      signInMode: 'authorize',
      messagesPerMinute: 100,
    });
  });

  it('ignores a value given as undefined (a flag or field left out), keeping the preset’s', () => {
    expect(newServerSettings({ name: 'hve', host: undefined, port: undefined }, 'hve')).toMatchObject({ host: HVE_HOST, port: 587 });
  });

  it('takes the office365 preset’s host from the cloud, and none for the Custom cloud', () => {
    expect(newServerSettings({ name: 'gov', cloud: 'usgov' }, 'office365')).toMatchObject({ host: 'smtp.office365.us', port: 587 });
    expect(newServerSettings({ name: 'custom', cloud: 'custom' }, 'office365').host).toBe('');
  });

  it('without a preset starts from the defaults: office365 on smtp.office365.com', () => {
    expect(newServerSettings({ name: 'plain' })).toMatchObject({
      method: 'office365',
      host: 'smtp.office365.com',
      port: 587,
      secure: 'tls',
    });
    expect(newServerSettings({ name: 'plain', method: 'password' }).host).toBe('');
  });

  it('knows the preset names and nothing else', () => {
    expect([...PRESET_NAMES]).toEqual(['office365', 'hve', 'acs']);
    expect(PRESET_NAMES.every(isPresetName)).toBe(true);
    for (const other of ['', 'HVE', 'gmail', 'constructor', '__proto__']) expect(isPresetName(other)).toBe(false);
  });

  it.each([
    ['High Volume Email over SMTP', { host: HVE_HOST, sendVia: 'smtp' }, 15 * 60_000],
    ['its host in capitals', { host: 'SMTP-HVE.Office365.com', sendVia: 'smtp' }, 15 * 60_000],
    ['Exchange Online', { host: 'smtp.office365.com', sendVia: 'smtp' }, null],
    ['a server sending via Graph', { host: HVE_HOST, sendVia: 'graph' }, null],
  ] as const)('renews tokens early for %s', (_what, server, expected) => {
    expect(earlyRefreshMs(server)).toBe(expected);
  });
});
