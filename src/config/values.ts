/**
 * The grammars of environment values: each zod schema reads the text of one
 * variable into its typed value, or refuses it with what is allowed (the end of
 * the one start-up line `NAME="value" is not valid: …`).
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { isAddress } from '../address.js';
import { parseCidr, type Cidr } from '../cidr.js';
import { isHostName } from '../host-name.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export interface ListenAddress {
  host: string;
  port: number;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/** Marks the value being read as refused; `allowed` says what would do. */
function refuse(ctx: z.RefinementCtx, allowed: string): never {
  ctx.addIssue({ code: 'custom', message: allowed });
  return z.NEVER;
}

/** Any text, as it is. */
export const text = z.string();

/** A folder, made absolute against the working directory. */
export const folder = z.string().transform((value) => path.resolve(value));

/** One of `values`, in any case. */
export const oneOfLowerCase = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(values, { error: `one of ${values.join(', ')}` }));

/** One of `values`, exactly as written. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.string().pipe(z.enum(values, { error: `one of ${values.join(', ')}` }));

/** Reads `host:port` or `[v6]:port`. */
function readListen(value: string, ctx: z.RefinementCtx, allowOff: boolean): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    return refuse(ctx, `host:port such as 127.0.0.1:2525 or [::1]:2525 (port 0-65535)${allowOff ? ', or off' : ''}`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/** A listen address. */
export const listen = z.string().transform((value, ctx) => readListen(value, ctx, false));

/** A listen address, or `off` (null). */
export const listenOrOff = z.string().transform((value, ctx) => (value.toLowerCase() === 'off' ? null : readListen(value, ctx, true)));

/**
 * Who can reach a listen address: `every` address of this machine (`0.0.0.0`, `::`), only this machine
 * (`loopback`: 127.0.0.0/8, `::1`, `localhost`), or `one` address or name of it.
 */
export function listenScope({ host }: ListenAddress): 'every' | 'loopback' | 'one' {
  const lower = host.toLowerCase();
  if (lower === '0.0.0.0' || (isIPv6(lower) && /^[0:]+$/.test(lower))) return 'every';
  const v4 = lower.replace(/^::ffff:/, '');
  if (lower === 'localhost' || lower === '::1' || (isIPv4(v4) && v4.startsWith('127.'))) return 'loopback';
  return 'one';
}

/** A host name or an IP address (an IPv6 address with or without brackets). */
export const host = z.string().transform((value, ctx) => {
  const name = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(name) === 0 && !isHostName(name)) {
    return refuse(ctx, 'a host name such as relay.contoso.com or an address such as 192.0.2.10');
  }
  return name;
});

/** Comma-separated ports, best first, each once. */
export const ports = z.string().transform((value, ctx) => {
  const list = value.split(',').map((part) => (/^\s*\d{1,5}\s*$/.test(part) ? Number(part) : NaN));
  if (!list.every((port) => port >= 1 && port <= 65535)) {
    return refuse(ctx, 'comma-separated ports from 1 to 65535 such as 587,25, the one devices should prefer first');
  }
  return [...new Set(list)];
});

/** `35MB`, `10MiB`, `1048576` (bytes) within `range`. */
export const size = (range: { min: number; max: number; text: string }) =>
  z.string().transform((value, ctx) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
    const unit = match ? SIZE_UNITS[(match[2] ?? '').toUpperCase()] : undefined;
    if (!match || unit === undefined) return refuse(ctx, 'a size such as 35MB, 10MiB or 1048576 (bytes)');
    const bytes = Math.floor(Number(match[1]) * unit);
    if (bytes < range.min || bytes > range.max) return refuse(ctx, `a size ${range.text}`);
    return bytes;
  });

/** `30s`, `2m`, `1500ms` or a plain number of seconds, in milliseconds within `range`. */
export const duration = (range: { min: number; max: number; text: string }) =>
  z.string().transform((value, ctx) => {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
    if (!match) return refuse(ctx, 'a duration such as 30s, 2m or 1500ms');
    const ms = Math.round(Number(match[1]) * (DURATION_UNITS[(match[2] ?? 's').toLowerCase()] as number));
    if (ms < range.min || ms > range.max) return refuse(ctx, `a duration ${range.text}`);
    return ms;
  });

/** A whole number from `min` to `max`. */
export const wholeNumber = (min: number, max: number) =>
  z.string().transform((value, ctx) => {
    const n = /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : NaN;
    return n >= min && n <= max ? n : refuse(ctx, `a whole number from ${min} to ${max}`);
  });

/** `true`, `1`, `yes`, `on` or their opposites. */
export const boolean = z.string().transform((value, ctx) => {
  const lower = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  return refuse(ctx, 'true or false');
});

/** Comma-separated CIDRs; empty means none. */
export const networks = z.string().transform((value, ctx) => {
  const list: Cidr[] = [];
  for (const part of value.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const parsed = parseCidr(part);
    if (typeof parsed === 'string') return refuse(ctx, `comma-separated CIDRs such as 10.0.0.0/8,2001:db8::/32 (${parsed})`);
    list.push(parsed);
  }
  return list;
});

/** Comma-separated email addresses; empty means none. */
export const addresses = z.string().transform((value, ctx) => {
  const list = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = list.find((a) => !isAddress(a));
  if (bad !== undefined) return refuse(ctx, `comma-separated email addresses such as admin@contoso.com (not ${JSON.stringify(bad)})`);
  return list;
});

/** An absolute http(s) URL, written without a trailing slash. */
export const httpUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse(ctx, 'an absolute http(s) URL such as http://localhost:8025');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse(ctx, 'an http:// or https:// URL');
  return url.toString().replace(/\/$/, '');
});

/** A URL whose scheme is one of `protocols` (with the colon, as URL reports it). */
function urlOf(protocols: readonly string[], allowed: string) {
  return z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, allowed);
}

/** An http:// or https:// URL kept as written: a webhook's URL is its credential. */
export const webhookUrl = urlOf(['http:', 'https:'], 'an http:// or https:// URL, such as a Teams or Slack incoming webhook');

/** A PostgreSQL connection URL (`postgres://` or `postgresql://`); its password is never shown. */
export const databaseUrl = urlOf(['postgres:', 'postgresql:'], 'a postgres://user:password@host:5432/database URL');

/** A name for one instance of a cluster: letters, digits, dot, dash and underscore, at most 63 characters. */
export const instanceId = z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'letters, digits, ".", "-" and "_", at most 63 characters');

/** Key material for the secret box. */
export const secretKey = z.string().min(32, 'at least 32 characters (for example 64 hex digits from `openssl rand -hex 32`)');
