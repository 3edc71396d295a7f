/**
 * Command-line parsing shared by the `relay365` commands: strict flags,
 * positional arguments, and flag values checked with the store's schemas.
 * Every mistake becomes one UsageError line that names the flag and says what
 * is allowed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { firstIssue } from '../store/access-schemas.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { UsageError } from './usage-error.js';

/** Where a command writes its output, one line at a time. */
export type Print = (line: string) => void;

/** An option or subcommand the command does not have: its line is followed by the command's usage. */
export class UnknownArgumentError extends UsageError {}

/** Refuses a subcommand: `relay365 COMMAND SUB` where SUB is not one of `known`. */
export function unknownSubcommand(command: string, sub: string | undefined, known: readonly string[]): UnknownArgumentError {
  const choices = known.length > 1 ? `${known.slice(0, -1).join(', ')} or ${known.at(-1)}` : known.join('');
  return new UnknownArgumentError(`unknown command "${command}${sub ? ` ${sub}` : ''}": use ${command} ${choices}`);
}

/** The flags a command takes, as parseArgs describes them. */
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses `args` against `options` (unknown flags refused, listing the known ones); positionals are kept for the caller. */
export function parseFlags<T extends FlagSpec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const known = Object.keys(options).map((flag) => `--${flag}`);
    if ((err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec((err as Error).message)?.[1] ?? 'option';
      throw new UnknownArgumentError(
        `Unknown option '${flag}': ${known.length ? `use ${known.join(', ')}` : 'this command takes no options'}`,
      );
    }
    throw new UsageError(valueProblem(args, (err as Error).message));
  }
}

/** parseArgs's complaint about a flag's value, said in relay365's words. */
function valueProblem(args: string[], message: string): string {
  const flag = /'(--?[^' ]+)/.exec(message)?.[1];
  if (flag === undefined) return message.split('\n')[0] as string;
  if (/argument missing/.test(message)) return `${flag} needs a value`;
  if (/does not take an argument/.test(message)) return `${flag} takes no value`;
  const next = args[args.indexOf(flag) + 1];
  if (/ambiguous/.test(message) && next !== undefined)
    return `${flag} is followed by ${JSON.stringify(next)}, which looks like an option; if it is the value, write ${flag}=${next}`;
  return message.split('\n')[0] as string;
}

/** The value of a flag the command cannot do without. */
export function requireFlag(flag: string, value: string | undefined, example: string): string {
  if (value === undefined) throw new UsageError(`--${flag} is required, e.g. ${example}`);
  return value;
}

/** The one positional argument (a name) a command takes. */
export function onePositional(positionals: string[], example: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined) throw new UsageError(`say which one, e.g. ${example}`);
  noPositionals(rest);
  return first;
}

/** Refuses arguments a command does not take (a forgotten `--flag` before a value, usually). */
export function noPositionals(positionals: string[]): void {
  const [extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}: give values after their --flag`);
}

/** Parses a flag's value with a schema; a failure names the flag, the value (or `shown` instead) and the schema's message. */
export function flagValue<S extends z.ZodType>(flag: string, value: string, schema: S, shown = JSON.stringify(value)): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`--${flag} ${shown} is not valid: ${firstIssue(result.error)}`);
  return result.data;
}

/** `--flag true|false`. */
export function booleanFlag(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${flag} ${JSON.stringify(value)} is not valid: use true or false`);
}

/**
 * Reads the file a `--…-file` flag names (`-`: standard input), without its
 * trailing newline; the content is never printed.
 */
export function readFlagFile(flag: string, file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new UsageError(`--${flag} ${JSON.stringify(file)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The email server a `--server` flag names. */
export async function serverFlag(store: StoreSlice<{ servers: 'findByName' }>, name: string): Promise<EmailServer> {
  const server = await store.servers.findByName(name);
  if (!server)
    throw new UsageError(`--server ${JSON.stringify(name)} is not valid: no email server has that name (see relay365 server list)`);
  return server;
}
