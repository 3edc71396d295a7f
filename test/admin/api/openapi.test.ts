import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_BASE, createApi } from '../../../src/admin/api/app.js';
import { silentLogger } from '../../../src/log.js';
import { createPanel, type Panel } from '../panel.js';

let panel: Panel;
beforeEach(() => {
  panel = createPanel();
});
afterEach(() => panel.cleanup());

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
}

const fetchDocument = async (): Promise<Document> => {
  const res = await panel.app.request(`${API_BASE}/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as Document;
};

describe('the OpenAPI document', () => {
  it('is served without a token and is a valid OpenAPI 3.1 document', async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists exactly the routes the API serves', async () => {
    const doc = await fetchDocument();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    const api = createApi({ config: panel.fx.config, store: panel.fx.store, relay: panel.relay, log: silentLogger, now: Date.now });
    const served = [
      ...new Set(api.routes.filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json').map((r) => `${r.method} ${r.path}`)),
    ].sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThanOrEqual(20);
  });

  it('describes every body with the store schema, secrets write-only, and every route with its error answers', async () => {
    const doc = await fetchDocument();
    const text = JSON.stringify(doc);
    expect(text).toContain('Office 365 Client Secret');
    expect(text).toMatch(/"clientSecret":\{[^}]*"writeOnly":true/);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses), `${method} ${path}`).toContain('401');
        if (method !== 'get') expect(Object.keys(op.responses), `${method} ${path}`).toContain('403');
      }
    }
  });
});
