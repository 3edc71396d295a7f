/**
 * Calls the API through `app.request()` as a script would: JSON in and out,
 * a Bearer token, and the answer's status and parsed body.
 */
import type { Hono } from 'hono';
import type { AdminEnv } from '../../../src/admin/env.js';
import type { ApiScope } from '../../../src/store/api-tokens.js';
import type { SqliteStore } from '../../../src/store/index.js';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // `any`: the JSON of many routes' shapes; each test reads the fields it expects and asserts on them.
  body: any;
}

/** A token of `scope`, created in the store as `relay365 api-token add` would. */
export const newToken = (store: SqliteStore, scope: ApiScope, name = `${scope}-token`): string =>
  store.sync.apiTokens.add({ name, scope }).token;

/** An API caller: `call('POST', '/servers', {...})` with the token given (or none); every answer's text is added to `seen`. */
export function apiClient(app: Hono<AdminEnv>, token: string | null, seen: string[] = []) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await app.request(`/api/v1${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    seen.push(text, JSON.stringify([...res.headers]));
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };
}
