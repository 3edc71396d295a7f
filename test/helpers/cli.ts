/** The command line run in this process against a fixture's store and configuration. */
import { runCommand } from '../../src/cli/commands.js';
import type { Fixture } from './fixture.js';

/** Runs `relay365 COMMAND ARGS…` in this process; resolves with its output lines. */
export async function runInProcess(fx: Fixture, command: string, ...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runCommand(fx.store, command, args, (line) => lines.push(line), fx.config);
  return lines;
}
