/**
 * relay365's own version, read from its package.json (one folder up from both
 * src/ and dist/), for the metrics' build info and backup manifests.
 */
import { readFileSync } from 'node:fs';

/** The version in package.json, or `unknown` when it cannot be read. */
export function relay365Version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
