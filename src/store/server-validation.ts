/**
 * Validation of email server settings, shared by the CLI and the admin panel:
 * each given setting is checked with its schema in server-schema.ts, which
 * holds the one message an admin can act on.
 */
import { SETTING_KEYS, settingSpec, type ServerSettings } from './server-schema.js';

export type FieldErrors = Partial<Record<keyof ServerSettings, string>>;

/**
 * Splits an address list as typed (commas, semicolons, spaces or new lines
 * between entries) into lower-cased entries without duplicates.
 */
export function parseAddressList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((entry) => entry.toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/** Checks each given field; returns a message per bad field (empty when all is well). */
export function validateServerFields(values: Partial<ServerSettings>): FieldErrors {
  const errors: FieldErrors = {};
  for (const key of SETTING_KEYS) {
    if (!(key in values)) continue;
    const result = settingSpec(key).schema.safeParse(values[key]);
    if (!result.success) errors[key] = result.error.issues[0]?.message ?? 'Enter a valid value.';
  }
  return errors;
}
