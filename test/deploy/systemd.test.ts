/**
 * The systemd unit's install steps (its header comments) and the README's
 * "Running as a systemd service" give the same commands, and those commands
 * build on the host without leaving development dependencies behind.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The unit's install steps: its comment lines indented as commands. */
const unitSteps = (): string[] =>
  readFileSync('deploy/systemd/relay365.service', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('#   '))
    .map((line) => line.slice(4));

/** The first shell block of the README's systemd section. */
function readmeSteps(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Running as a systemd service'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  expect(block).not.toBeNull();
  return block![1]!.trimEnd().split('\n');
}

describe('the systemd install steps', () => {
  it('are the same in the unit and in the README', () => {
    expect(unitSteps().length).toBeGreaterThan(8);
    expect(readmeSteps()).toEqual(unitSteps());
  });

  it('create the settings folder before copying into it, and the service user before both', () => {
    const steps = unitSteps();
    const at = (pattern: RegExp): number => steps.findIndex((step) => pattern.test(step));
    expect(at(/^useradd .* relay365$/)).toBeGreaterThanOrEqual(0);
    expect(at(/^useradd /)).toBeLessThan(at(/^install -d -m 0750 -g relay365 \/etc\/relay365$/));
    expect(at(/^install -d .*\/etc\/relay365$/)).toBeLessThan(at(/\/etc\/relay365\/relay365\.env$/));
    expect(at(/\/var\/lib\/relay365$/)).toBeLessThan(at(/ init'$/));
  });

  it('compile with the development dependencies, then keep only the production ones', () => {
    const npm = unitSteps().find((step) => step.includes('npm ci'));
    expect(npm).toMatch(/npm ci --include=dev .*&& npm prune --omit=dev/);
  });
});
