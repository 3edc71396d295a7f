/**
 * Log lines through pino: one JSON object per line on stdout (`RELAY365_LOG_FORMAT=json`), or
 * pino-pretty's coloured lines for people at a terminal (`pretty`). Callers pass a message and
 * structured fields; every field that could carry a secret is redacted by name before it is
 * written, whatever the caller passed. Lines about one message carry its `queueId`, and lines
 * that need a person's attention carry `"alert":true`.
 */
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Field names that carry secrets, at the top level and one level down (`{ auth: { pass } }`). */
const SECRET_FIELDS = [
  'password',
  'pass',
  'clientSecret',
  'client_secret',
  'clientCertificate',
  'privateKey',
  'client_assertion',
  'secret',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'token',
  'authorization',
  'cookie',
  'codeVerifier',
  'code_verifier',
  'webhookUrl',
  'metricsToken',
  'secretKey',
];
const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((name) => `*.${name}`)];

export interface LoggerOptions {
  /** `json` (default) or `pretty`. */
  format?: LogFormat;
  /** Fields on every line. */
  base?: LogFields;
}

/** Wraps pino behind relay365's `(msg, fields)` calls. */
function wrap(logger: PinoLogger): Logger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (fields) => wrap(logger.child(fields)),
  };
}

/** Creates a logger writing whole lines to `write` (stdout by default) at or above `level`. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  { format = 'json', base = {} }: LoggerOptions = {},
): Logger {
  // pino-pretty's formatter runs in this thread, line by line, so stdout errors stay with `write`.
  const pretty = format === 'pretty' ? prettyFactory({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:standard' }) : null;
  const destination: DestinationStream = { write: (line) => write(pretty ? pretty(line) : line) };
  const logger = pino(
    {
      level,
      base,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return wrap(logger);
}

/** A logger that drops everything, for tests and CLI commands. */
export const silentLogger: Logger = createLogger('error', () => undefined);
