/**
 * The command tables against the usage text: every command, sub-command and
 * flag relay365 runs is in the help, so a new one cannot ship undocumented.
 */
import { describe, expect, it } from 'vitest';
import { BACKUP_TABLE } from '../../src/cli/backup-commands.js';
import { COMMANDS, STORE_COMMANDS } from '../../src/cli/commands.js';
import type { FlagSpec } from '../../src/cli/flags.js';
import type { Command } from '../../src/cli/subcommands.js';
import { COMMAND_USAGE } from '../../src/cli/usage.js';

/** Each command line a table runs (`server add`, `doctor`, …) with the flags it takes. */
function commandLines(command: Command<never>): { line: string; flags: FlagSpec }[] {
  if ('subcommands' in command) {
    return Object.entries(command.subcommands).map(([sub, { flags }]) => ({ line: `${command.name} ${sub}`, flags }));
  }
  return [{ line: command.name, flags: command.flags }];
}

const TABLES: readonly Command<never>[] = [...STORE_COMMANDS, ...BACKUP_TABLE];

describe('the command tables and the usage', () => {
  it('has a usage part for every command and a command for every usage part', () => {
    expect(Object.keys(COMMAND_USAGE).sort()).toEqual(['init', 'start', ...COMMANDS].sort());
  });

  it.each(TABLES.flatMap(commandLines).map(({ line, flags }) => [line, Object.keys(flags)] as const))(
    'shows "relay365 %s" and its flags %j in its usage',
    (line, flags) => {
      const usage = COMMAND_USAGE[line.split(' ')[0] as string] ?? '';
      expect(usage).toContain(`relay365 ${line}`);
      for (const flag of flags) expect(usage).toMatch(new RegExp(`--${flag}\\b`));
    },
  );
});
