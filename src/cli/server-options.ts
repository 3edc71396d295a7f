/**
 * Maps `relay365 server` flags to email server settings, with defaults (or a
 * preset's values) for a new server and validation with one clear message per bad value.
 */
import { isPresetName, presetConflict, PRESET_NAMES, type PresetName } from '../auth/server-presets.js';
import { newServerSettings } from '../auth/server-settings.js';
import { SETTING_KEYS, settingSpec, type SettingKey } from '../store/server-schema.js';
import { parseAddressList, validateServerFields } from '../store/server-validation.js';
import type { ServerSettings } from '../store/servers.js';
import { readFlagFile } from './flags.js';
import { UsageError } from './usage-error.js';

/** Flag → setting, from the settings' description; secrets' flags (which name a file) last. */
const FLAGS: ReadonlyMap<string, SettingKey> = new Map(
  [...SETTING_KEYS.filter((k) => settingSpec(k).kind !== 'secret'), ...SETTING_KEYS.filter((k) => settingSpec(k).kind === 'secret')].map(
    (key) => [settingSpec(key).flag, key],
  ),
);

/** Flags `server add` and `server set` accept, for parseArgs. */
export const SERVER_FLAGS = [...FLAGS.keys()];

/** The `server options:` part of the usage, one `--flag ARG` per setting. */
export function serverOptionsUsage(width = 110): string[] {
  const words = [...FLAGS].map(([flag, key]) => `--${flag} ${flagArg(key)}`);
  words.push('--default');
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && (lines[last] as string).length + 2 + word.length <= width) lines[last] += `  ${word}`;
    else lines.push(`  ${word}`);
  }
  return lines;
}

function flagArg(key: SettingKey): string {
  const spec = settingSpec(key);
  if (spec.flagArg) return spec.flagArg;
  if (spec.kind === 'secret') return 'FILE';
  if (spec.kind === 'date') return 'YYYY-MM-DD';
  if ('options' in spec.schema && Array.isArray(spec.schema.options)) return (spec.schema.options as string[]).join('|');
  return String(spec.default ?? 'VALUE');
}

function readSecretFile(flag: string, file: string): string {
  const value = readFlagFile(flag, file);
  if (!value) throw new UsageError(`--${flag} ${JSON.stringify(file)}: the file is empty`);
  return value;
}

/** Turns parsed flags into setting changes; values are validated, secrets read from their files. */
export function flagsToSettings(flags: Record<string, string | boolean | undefined>): Partial<ServerSettings> {
  const changes: Record<string, unknown> = {};
  for (const [flag, key] of FLAGS) {
    const raw = flags[flag];
    if (typeof raw !== 'string') continue;
    const { kind } = settingSpec(key);
    if (kind === 'secret') changes[key] = readSecretFile(flag, raw);
    else if (kind === 'number') changes[key] = /^\d+$/.test(raw) ? Number(raw) : NaN;
    else if (kind === 'list') changes[key] = parseAddressList(raw);
    // `authorize-account` is how the admin guide spells Authorize Account.
    else if (key === 'signInMode') changes[key] = raw === 'authorize-account' ? 'authorize' : raw;
    else changes[key] = raw === '' ? null : raw;
  }
  const settings = changes as Partial<ServerSettings>;
  const errors = validateServerFields(settings);
  const [key, message] = (Object.entries(errors)[0] ?? []) as [SettingKey?, string?];
  if (key) {
    const { flag, kind } = settingSpec(key);
    const shown = kind === 'secret' ? '(hidden)' : JSON.stringify(flags[flag]);
    throw new UsageError(`--${flag} ${shown} is not valid: ${message}`);
  }
  return settings;
}

/** The preset `--preset` names; UsageError for another name. */
export function presetFlag(value: string): PresetName {
  if (!isPresetName(value))
    throw new UsageError(`--preset ${JSON.stringify(value)} is not valid: choose one of ${PRESET_NAMES.join(', ')}`);
  return value;
}

/**
 * Completes a new server's settings with the preset's values, if any, then defaults (office365: tls,
 * 587, the cloud's SMTP host); flags given win over both.
 */
export function withDefaults(changes: Partial<ServerSettings>, preset?: PresetName): ServerSettings {
  if (!changes.name) throw new UsageError('--name is required');
  const settings = newServerSettings({ ...changes, name: changes.name }, preset);
  const conflict = preset ? presetConflict(preset, settings) : null;
  if (conflict) throw new UsageError(`--preset ${preset} with --send-via ${settings.sendVia}: ${conflict}`);
  if (!settings.host) {
    throw new UsageError(
      `--host is required for method ${settings.method}${settings.method === 'office365' ? ' with --cloud custom' : ''}`,
    );
  }
  return settings;
}
