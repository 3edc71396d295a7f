/**
 * The cursor of the refused list, shared by the panel's "older" link and
 * GET /api/v1/refused: where the previous page ended, in the list's own order
 * (last seen, then row id), as an opaque URL-safe text.
 */
import type { RefusalCursor } from '../store/refusals.js';

/** The cursor of the page that ends with `r`. */
export const encodeRefusalCursor = (r: RefusalCursor): string => Buffer.from(`${r.lastAt}.${r.id}`).toString('base64url');

/** The position an `encodeRefusalCursor` text names, or null for any other text. */
export function decodeRefusalCursor(text: string): RefusalCursor | null {
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  return match ? { lastAt: Number(match[1]), id: Number(match[2]) } : null;
}
