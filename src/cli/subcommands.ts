/**
 * How a `relay365 COMMAND` runs: its flags and a handler, or, for a command
 * made of sub-commands, a table of each sub-command's flags and handler.
 * Running one parses its flags (strictly, see flags.ts) before the handler
 * sees them, and a missing or unknown sub-command is refused here, in the one
 * wording every command uses.
 */
import { parseFlags, unknownSubcommand, type FlagSpec } from './flags.js';

/** A command's flags as its handler receives them: values typed by the spec, and the positional arguments. */
export type ParsedFlags<F extends FlagSpec> = ReturnType<typeof parseFlags<F>>;

/** The flags of a sub-command that only lists or shows. */
export const JSON_FLAG = { json: { type: 'boolean' } } as const;
/** The flags of a sub-command that takes none. */
export const NO_FLAGS = {} as const;

/** One sub-command: the flags it takes and what it does with them. */
export interface Subcommand<C> {
  readonly flags: FlagSpec;
  run(context: C, args: string[]): void | Promise<void>;
}

/** A command's sub-commands by name, in the order its usage and its refusal list them. */
export type SubcommandTable<C> = Readonly<Record<string, Subcommand<C>>>;

/** A command without sub-commands: its name, its flags and how it runs. */
export interface SingleCommand<C> extends Subcommand<C> {
  readonly name: string;
}

/** A command made of sub-commands. */
export interface SubcommandGroup<C> {
  readonly name: string;
  readonly subcommands: SubcommandTable<C>;
  run(context: C, args: string[]): void | Promise<void>;
}

/** A `relay365 COMMAND`; `C` is what its handlers work with (the store, where to print, …). */
export type Command<C> = SingleCommand<C> | SubcommandGroup<C>;

/** A sub-command from its flags and its handler, which receives them parsed. */
export function subcommand<C, F extends FlagSpec>(
  flags: F,
  handler: (context: C, parsed: ParsedFlags<F>) => void | Promise<void>,
): Subcommand<C> {
  return { flags, run: (context, args) => handler(context, parseFlags(args, flags)) };
}

/** A command without sub-commands: `relay365 name` with its flags, run by `handler`. */
export function command<C, F extends FlagSpec>(
  name: string,
  flags: F,
  handler: (context: C, parsed: ParsedFlags<F>) => void | Promise<void>,
): SingleCommand<C> {
  return { name, ...subcommand(flags, handler) };
}

/** `relay365 name SUB …`: runs SUB from `subcommands`; any other word (or none) is an UnknownArgumentError naming them. */
export function subcommandGroup<C>(name: string, subcommands: SubcommandTable<C>): SubcommandGroup<C> {
  return {
    name,
    subcommands,
    run(context, args) {
      const [sub, ...rest] = args;
      const found = sub !== undefined && Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
      if (found === undefined) throw unknownSubcommand(name, sub, Object.keys(subcommands));
      return found.run(context, rest);
    },
  };
}
