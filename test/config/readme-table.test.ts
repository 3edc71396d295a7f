/**
 * The README's Configuration table against the environment's schema: every
 * variable is documented with its default and meaning, and the table names no
 * variable relay365 does not read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../../src/config/schema.js';

interface Row {
  names: string[];
  default: string;
  meaning: string;
  /** Every RELAY365_* the row's text mentions. */
  mentions: string[];
}

/** The rows of the table under `## Configuration`, below its header. */
function configurationTable(readme: string): Row[] {
  const section = /^## Configuration\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => {
      const [names = '', fallback = '', meaning = ''] = line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim());
      return {
        names: names.split(',').map((name) => name.trim().replace(/^`(.*)`$/, '$1')),
        default: fallback,
        meaning,
        mentions: line.match(/RELAY365_[A-Z0-9_]+/g) ?? [],
      };
    });
}

const rows = configurationTable(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
const variables = Object.values(VARIABLES);

describe("the README's Configuration table", () => {
  it('has rows to check', () => {
    expect(rows.length).toBeGreaterThan(20);
  });

  it.each(variables.map((variable) => [variable.name, variable] as const))(
    'documents %s with its default and meaning',
    (name, variable) => {
      const row = rows.find((r) => r.names.includes(name));
      expect(row, `no row for ${name}`).toBeDefined();
      expect({ default: row?.default, meaning: row?.meaning }).toEqual(variable.readme);
    },
  );

  it('lists the variables in the order of the schema', () => {
    const listed = rows.flatMap((r) => r.names);
    expect(listed.filter((name) => variables.some((v) => v.name === name))).toEqual(variables.map((v) => v.name));
  });

  it('names only variables relay365 reads, and only the NAME_FILE of a secret', () => {
    const known = new Set(variables.flatMap((v) => (v.secret ? [v.name, `${v.name}_FILE`] : [v.name])));
    const schemaNames = new Set(variables.map((v) => v.name));
    expect(rows.flatMap((r) => r.names).filter((name) => !schemaNames.has(name))).toEqual([]);
    expect(rows.flatMap((r) => r.mentions).filter((name) => !known.has(name))).toEqual([]);
  });
});
