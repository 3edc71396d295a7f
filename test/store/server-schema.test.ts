import { describe, expect, it } from 'vitest';
import { CUSTOM_CLOUD_LABELS, FIELDS } from '../../src/admin/server-fields.js';
import { newServerSettings } from '../../src/auth/server-settings.js';
import { SERVER_FLAGS } from '../../src/cli/server-options.js';
import { COMMAND_USAGE } from '../../src/cli/usage.js';
import { SETTING_KEYS, SETTINGS, serverSettingsSchema, settingSpec } from '../../src/store/server-schema.js';
import { validateServerFields } from '../../src/store/server-validation.js';
import type { ServerSettings } from '../../src/store/servers.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

describe('the email server settings, described once', () => {
  it('types ServerSettings with exactly the described settings', () => {
    const same: Equal<keyof ServerSettings, keyof typeof SETTINGS> = true;
    expect(same).toBe(true);
    expect(Object.keys(serverSettingsSchema.shape)).toEqual(SETTING_KEYS);
  });

  it('gives every setting a panel form or a place on the Cloud form', () => {
    const panelKeys = FIELDS.map((f) => f.key);
    const cloudFormKeys = Object.keys(CUSTOM_CLOUD_LABELS);
    expect([...panelKeys, ...cloudFormKeys].sort()).toEqual([...SETTING_KEYS].sort());
    for (const field of FIELDS) expect(field.label).toBe(settingSpec(field.key).label);
  });

  it('gives every setting one CLI flag, shown in the usage', () => {
    expect(SERVER_FLAGS).toHaveLength(SETTING_KEYS.length);
    expect(new Set(SERVER_FLAGS)).toEqual(new Set(SETTING_KEYS.map((k) => settingSpec(k).flag)));
    for (const flag of SERVER_FLAGS) expect(COMMAND_USAGE['server']).toContain(`--${flag} `);
  });

  it('stores every setting in its own column', () => {
    const columns = SETTING_KEYS.map((k) => settingSpec(k).column);
    expect(new Set(columns).size).toBe(SETTING_KEYS.length);
  });

  it("accepts a new server's defaults with its own validation", () => {
    expect(validateServerFields(newServerSettings({ name: 'office365' }))).toEqual({});
    expect(serverSettingsSchema.safeParse(newServerSettings({ name: 'office365' })).success).toBe(true);
  });

  it('sends bounce notices and no delay notices unless told otherwise', () => {
    expect(newServerSettings({ name: 'office365' })).toMatchObject({ bounceNotices: 'on', delayNotices: 'off' });
  });

  it('keeps secrets write-only: a stored server has no secret values', () => {
    const secrets = SETTING_KEYS.filter((k) => settingSpec(k).kind === 'secret');
    expect(secrets.sort()).toEqual(['clientCertificate', 'clientSecret', 'password']);
  });
});
