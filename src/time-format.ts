/**
 * How relay365 shows a time to a person, the same in the admin panel and on
 * the command line: ISO 8601 in UTC to the second, `2026-12-06 17:31:05 UTC`.
 * Output for programs (`--json`, the API, log lines) keeps its machine formats.
 */

/** `2026-12-06 17:31:05 UTC` for milliseconds since 1970 or a Date. */
export function formatTime(at: number | Date): string {
  const iso = new Date(at).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** {@link formatTime}, or `never` for a time that has not come (a token not used yet). */
export function formatTimeOrNever(at: number | null): string {
  return at === null ? 'never' : formatTime(at);
}
