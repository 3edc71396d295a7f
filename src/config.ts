/**
 * Start-up configuration: the environment parsed once, with the schema in
 * config/schema.ts, into a typed, frozen object. Every setting is optional; a
 * bad value becomes one ConfigError naming the variable, the value and what is
 * allowed.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { configSchema, VARIABLES, type Config, type ConfigField } from './config/schema.js';

export { DEFAULT_RETENTION_DAYS, type Config } from './config/schema.js';
export { listenScope, type ListenAddress, type LogFormat, type LogLevel, type TlsVersion } from './config/values.js';

/** A setting that cannot be used; `message` is the one line printed at start-up. */
export class ConfigError extends Error {
  constructor(variable: string, value: string, allowed: string) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${allowed}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads `NAME`, or for a secret the file named by `NAME_FILE` (trailing newline trimmed); undefined while unset. */
function readText(env: Env, { name, secret, keepEmpty }: (typeof VARIABLES)[ConfigField]): string | undefined {
  const direct = env[name];
  if (direct !== undefined && (direct !== '' || keepEmpty)) return direct;
  const file = secret ? env[`${name}_FILE`] : undefined;
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${name}_FILE`, file, `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Parses the whole environment; throws ConfigError for the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const fields = Object.keys(VARIABLES) as ConfigField[];
  const texts = Object.fromEntries(fields.map((field) => [field, readText(env, VARIABLES[field])]));
  const result = configSchema.safeParse(texts, { reportInput: true });
  if (result.success) return Object.freeze(result.data);
  // A failed parse has at least one issue, at the path of the field it refuses.
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const field = issue.path[0] as ConfigField;
  const { name, secret } = VARIABLES[field];
  // A secret (a webhook URL is its own credential) is named by its variable, never echoed.
  const shown = secret ? '(hidden)' : typeof issue.input === 'string' ? issue.input : (texts[field] ?? '');
  throw new ConfigError(name, shown, issue.message);
}
