/**
 * Reading text out of a parsed form body (`c.req.parseBody()`).
 */

/** Reads text fields of a parsed form body, trimmed (files ignored). */
export function formText(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value.trim() : '';
}
