/**
 * @module auth/key-file — the signing-key file earlier versions kept in the data dir
 * (`keys.json`, the key-ring document format). It is read once, when the store holds no key ring
 * yet, to import it (so an upgrade keeps its keys and issued tokens stay valid), then renamed to
 * `keys.json.imported` so that it is never imported again.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { KeyDecryptError } from './key-document.js';

/** Path of the key file of earlier versions inside the data dir. */
export function keyFilePath(dataDir: string): string {
  return join(dataDir, 'keys.json');
}

/** The text of the key file at `path`, or undefined when there is none. */
export function readKeyFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new KeyDecryptError(`key file ${path} cannot be read`);
  }
}

/**
 * Renames an imported key file to `<path>.imported` (mode kept: 0600), which nothing reads:
 * the store is the key ring's home from then on. Gone already (another process sharing the data
 * dir imported it first): nothing to do.
 */
export function retireKeyFile(path: string): string {
  const target = `${path}.imported`;
  try {
    renameSync(path, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return target;
}
