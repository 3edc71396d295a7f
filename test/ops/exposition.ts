/**
 * A strict parser for the Prometheus text exposition format (0.0.4), for
 * tests: every line must be a HELP, a TYPE, a comment or a sample; a family's
 * TYPE comes once and before its samples; samples of a family are together;
 * no series repeats; histograms have ascending `le` buckets ending in +Inf
 * whose counts never fall and match `_count`. Any violation throws, naming the
 * line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|NaN)$/;

function parseValue(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  if (/^[+-]?Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return text === 'NaN' ? NaN : Number(text);
}

/** Reads `{a="x",b="y"}` starting at `text[0] === '{'`; returns the labels and the rest of the line. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name || !LABEL_NAME.test(name)) throw new Error(`${where}: bad label name`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    i += name.length;
    if (text.slice(i, i + 2) !== '="') throw new Error(`${where}: expected =" after ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) throw new Error(`${where}: unterminated label value`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape \\${next ?? ''}`);
        i += 2;
        continue;
      }
      value += ch;
      i += 1;
    }
    labels[name] = value;
    i += 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to its base name. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  const base = /^(.*)_(bucket|sum|count)$/.exec(sample)?.[1];
  const family = base === undefined ? undefined : families.get(base);
  return family && (family.type === 'histogram' || family.type === 'summary') ? family : undefined;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, Sample[]>();
  const key = (labels: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== 'le')
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  for (const s of family.samples.filter((x) => x.name.endsWith('_bucket'))) {
    if (s.labels.le === undefined) throw new Error(`${family.name}: bucket without le`);
    series.set(key(s.labels), [...(series.get(key(s.labels)) ?? []), s]);
  }
  for (const [labels, buckets] of series) {
    const bounds = buckets.map((b) => parseValue(b.labels.le as string, `${family.name} le`));
    if (bounds.at(-1) !== Infinity) throw new Error(`${family.name}${labels}: no +Inf bucket`);
    for (let i = 1; i < buckets.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new Error(`${family.name}: le not ascending`);
      if ((buckets[i] as Sample).value < (buckets[i - 1] as Sample).value) throw new Error(`${family.name}: bucket counts fall`);
    }
    const count = family.samples.find((s) => s.name === `${family.name}_count` && key(s.labels) === labels);
    if (!count || count.value !== buckets.at(-1)?.value) throw new Error(`${family.name}${labels}: _count differs from +Inf bucket`);
  }
}

/** Parses `text`; throws on the first line that breaks the format. */
export function parseExposition(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the last line has no line feed');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      const family = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] };
      if (family.samples.length > 0) throw new Error(`${where}: ${kind} for ${name} after its samples`);
      if (kind === 'TYPE') {
        if (!TYPES.includes(rest as MetricType)) throw new Error(`${where}: unknown type ${rest}`);
        if (families.has(name) && family.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`);
        family.type = rest as MetricType;
      } else {
        if (/\\[^n\\]/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        family.help = rest;
      }
      families.set(name, family);
      return;
    }
    if (line.startsWith('#')) return;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`${where}: not a sample: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`${where}: expected " value [timestamp]"`);
    const value = parseValue(parts[1] as string, where);
    if (parts[2] !== undefined && !/^-?\d+$/.test(parts[2])) throw new Error(`${where}: bad timestamp`);
    let family = familyOf(name, families);
    if (!family) {
      family = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, family);
    }
    if (family !== current) {
      if (current) closed.add(current.name);
      if (closed.has(family.name)) throw new Error(`${where}: samples of ${family.name} are not together`);
      current = family;
    }
    const id = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seen.has(id)) throw new Error(`${where}: series ${id} twice`);
    seen.add(id);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = familyOf(name, families);
  const matches = (family?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${matches.length} series`);
  return matches[0]?.value ?? 0;
}
