/**
 * Shorthands for the OpenAPI route definitions: a JSON answer and a required
 * JSON body, each with its zod schema.
 */
import type { z } from '@hono/zod-openapi';

/** A JSON answer described by `schema`. */
export const json = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });

/** A required JSON request body described by `schema`. */
export const body = <S extends z.ZodType>(schema: S) => ({ body: { content: { 'application/json': { schema } }, required: true } });
