/**
 * Reads a backup archive into a staging folder, trusting nothing in it: the
 * manifest must come first; every further entry must be a plain file with a
 * name relay365 keeps in its data folder (no absolute path, no `..`, no
 * link of any kind), listed in the manifest once, with the size and SHA-256
 * the manifest gives. Any other archive is refused as a whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { BackupError } from './backup-error.js';
import { isDataFileName, MANIFEST_FILE, SPOOL_DIR } from './layout.js';
import { parseManifest, type Manifest, type ManifestFile } from './manifest.js';

/** A manifest larger than this is not one relay365 wrote (it lists about 150 bytes per waiting message). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Why an entry cannot be restored, or null when its name and type are acceptable. */
function entryProblem(entry: ReadEntry): string | null {
  const name = JSON.stringify(entry.path);
  if (path.posix.isAbsolute(entry.path) || /^[A-Za-z]:/.test(entry.path)) return `entry ${name} has an absolute path`;
  if (entry.path.split(/[\\/]/).includes('..')) return `entry ${name} points outside the data folder (..)`;
  if (entry.type !== 'File') return `entry ${name} is a ${entry.type}, not a plain file`;
  if (entry.path !== MANIFEST_FILE && !isDataFileName(entry.path)) return `entry ${name} is not a file relay365 keeps in its data folder`;
  return null;
}

/** Extracts `archive` into the empty folder `dir` and returns its manifest; throws BackupError when the archive fails a check. */
export async function extractArchive(archive: string, dir: string): Promise<Manifest> {
  // Set inside the parser's callbacks (the casts keep TypeScript from narrowing them to null).
  let manifest = null as Manifest | null;
  let problem = null as string | null;
  const expected = new Map<string, ManifestFile>();
  const seen = new Set<string>();
  const writes: Promise<void>[] = [];
  const outs: WriteStream[] = [];
  const refuse = (why: string): void => void (problem ??= why);

  const readManifest = (entry: ReadEntry): void => {
    if (entry.size > MAX_MANIFEST_BYTES) return refuse('its manifest is too large');
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    entry.on('end', () => {
      try {
        manifest = parseManifest(Buffer.concat(chunks).toString('utf8'));
        for (const file of manifest.files) expected.set(file.path, file);
      } catch (err) {
        refuse((err as Error).message);
      }
    });
  };

  const writeFile = (entry: ReadEntry, want: ManifestFile): void => {
    if (entry.path.startsWith(`${SPOOL_DIR}/`)) mkdirSync(path.join(dir, SPOOL_DIR), { recursive: true, mode: 0o700 });
    const out = createWriteStream(path.join(dir, entry.path), { flags: 'wx', mode: 0o600, flush: true });
    outs.push(out);
    const hash = createHash('sha256');
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) {
        entry.pause();
        out.once('drain', () => entry.resume());
      }
    });
    entry.on('end', () => out.end());
    writes.push(
      new Promise<void>((resolve, reject) => {
        out.on('error', reject);
        out.on('close', resolve);
      }).then(() => {
        if (size !== want.size || hash.digest('hex') !== want.sha256)
          refuse(`${entry.path} does not match its checksum in the manifest: the archive was changed or damaged`);
      }),
    );
  };

  const onEntry = (entry: ReadEntry): void => {
    const why = problem === null ? entryProblem(entry) : null;
    if (why !== null) refuse(why);
    if (problem !== null) return void entry.resume();
    if (manifest === null && seen.size === 0) {
      seen.add(entry.path);
      if (entry.path !== MANIFEST_FILE) refuse(`it does not start with ${MANIFEST_FILE}: not a relay365 backup`);
      else readManifest(entry);
      return void entry.resume();
    }
    const want = expected.get(entry.path);
    if (want === undefined || seen.has(entry.path)) {
      refuse(`entry ${JSON.stringify(entry.path)} is ${want === undefined ? 'not listed in the manifest' : 'in the archive twice'}`);
      return void entry.resume();
    }
    seen.add(entry.path);
    writeFile(entry, want);
  };

  // Gzip cannot compress much beyond 1:1000, so tar's ratio guard is not needed; sizes are checked against the manifest.
  const parser = new Parser({ strict: true, maxDecompressionRatio: Infinity, onReadEntry: onEntry });
  try {
    await new Promise<void>((resolve, reject) => {
      const input = createReadStream(archive);
      input.on('error', reject);
      parser.on('error', reject);
      parser.on('end', resolve);
      input.pipe(parser);
    });
    await Promise.all(writes);
  } catch (err) {
    // A broken archive never ends its current entry: close what is open.
    for (const out of outs) out.destroy();
    await Promise.allSettled(writes);
    throw new BackupError(`${archive} is not a readable relay365 backup (${(err as Error).message})`);
  }
  if (problem !== null) throw new BackupError(`${archive} was refused: ${problem}`);
  if (manifest === null) throw new BackupError(`${archive} is not a relay365 backup: it has no ${MANIFEST_FILE}`);
  const missing = [...expected.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0) throw new BackupError(`${archive} was refused: ${missing[0]} is in the manifest but not in the archive`);
  return manifest;
}
