/**
 * The backup manifest: relay365's version, when the archive was made, the
 * database schema version, whether the key is in it, how much mail was
 * waiting, and every file with its size and SHA-256. Restore checks each file
 * against it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { isDataFileName } from './layout.js';

export const MANIFEST_FORMAT = 'relay365-backup/1';

const fileSchema = z.object({
  path: z.string().refine(isDataFileName, 'not a file relay365 keeps in its data folder'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const waitingSchema = z.object({
  messages: z.number().int().nonnegative(),
  /** Their size as received, without relay365's Received: header. */
  receivedBytes: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  relay365Version: z.string(),
  createdAt: z.string(),
  schemaVersion: z.number().int().nonnegative(),
  keyIncluded: z.boolean(),
  /** The mail waiting in the database copy; absent from archives made before bodies moved into the database (they list spool files). */
  waiting: waitingSchema.optional(),
  files: z.array(fileSchema),
});

export type ManifestFile = z.infer<typeof fileSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** Parses the manifest's JSON; throws an Error saying what is wrong with it. */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('its manifest is not valid JSON');
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`its manifest is not a relay365 backup manifest (${issue?.path.join('.') || 'manifest'}: ${issue?.message})`);
  }
  const names = result.data.files.map((f) => f.path);
  if (new Set(names).size !== names.length) throw new Error('its manifest lists a file twice');
  return result.data;
}

/** SHA-256 (hex) and size of a file, read as a stream. */
export async function describeFile(file: string, archivePath: string): Promise<ManifestFile> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { path: archivePath, size, sha256: hash.digest('hex') };
}
