/**
 * The API's one error shape, `{"error": {"code", "message", "field"?}}`, with
 * the HTTP status that goes with each code. Handlers throw `ApiError`; the
 * app's error handler writes it (and turns anything else into a bare 500).
 */
import { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const ERROR_STATUS = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
  busy: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      field: z.string().optional().meta({ description: 'The body or query field the message is about.' }),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.infer<typeof errorSchema>;

/** An answer other than success: its code sets the HTTP status. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, field?: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.field = field;
    this.headers = headers;
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

export const notFound = (what: string): ApiError => new ApiError('not_found', `There is no ${what}.`);

/** The error answers every route can give, for the OpenAPI document. */
export function errorResponses<const C extends ErrorCode>(...codes: C[]) {
  return Object.fromEntries(
    codes.map((code) => [
      ERROR_STATUS[code],
      { description: code.replace('_', ' '), content: { 'application/json': { schema: errorSchema } } },
    ]),
  ) as { [K in C as (typeof ERROR_STATUS)[K]]: { description: string; content: { 'application/json': { schema: typeof errorSchema } } } };
}
