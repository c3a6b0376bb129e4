/**
 * @module registry/paths — registering a file the operator allows (`registry.allowedPaths`)
 * instead of uploading it, and the names that datasets and models may carry. A registered path
 * must be lexically inside a root and still inside one after every symlink (of the file and of
 * each parent) is resolved; the roots are resolved too, so a root may itself be a symlink.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StoreError } from '../errors.js';
import { RegistryInputError, type RegistryRefusal } from './errors.js';
import { digestHandle, errnoOf, openRegular } from './files.js';

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const NAME_MAX = 128;

function refuseWith(reason: RegistryRefusal, rule: string): never {
  throw new RegistryInputError(reason, `The path is refused: ${rule}`);
}

/** Whether `path` is `root` itself or below it (both absolute and normalized). */
function within(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real paths of the roots that exist (a missing root allows nothing). */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    try {
      out.push(await realpath(root));
    } catch (err) {
      const code = errnoOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new StoreError('registry: cannot resolve an allowed path', { cause: err });
      }
    }
  }
  return out;
}

/**
 * Resolves `candidate` (absolute, or relative to the working directory) against the `allowed`
 * roots and returns the file's real path. Refused with 400 and the rule's reason: a NUL byte
 * (`path-nul`), a `..` segment (`path-dotdot`), outside every root (`path-outside`), a real path
 * that leaves the roots through a symlink (`path-escape`), nothing there (`path-missing`), not a
 * regular file (`path-not-regular`: directories, FIFOs, devices, sockets).
 */
export async function allowedFile(candidate: string, allowed: readonly string[]): Promise<string> {
  const resolved = await allowedPath(candidate, allowed);
  const opened = await openRegular(resolved).catch((err: unknown) => {
    throw new StoreError('registry: cannot open a registered path', { cause: err });
  });
  if (opened === 'absent') refuseWith('path-missing', 'no file is there');
  if (typeof opened === 'string') refuseWith('path-not-regular', 'it is not a regular file');
  await opened.handle.close();
  return resolved;
}

/**
 * The real path of `candidate` under the `allowed` roots, whatever is there (a file, a folder,
 * anything else: the caller looks); refused exactly as {@link allowedFile} refuses, but for
 * `path-not-regular`.
 */
export async function allowedPath(candidate: string, allowed: readonly string[]): Promise<string> {
  if (candidate.includes('\0')) refuseWith('path-nul', 'it contains a NUL byte');
  if (candidate.split(/[\\/]/).includes('..')) {
    refuseWith('path-dotdot', "it contains a '..' segment");
  }
  const roots = allowed.filter((r) => r !== '' && !r.includes('\0')).map((r) => resolve(r));
  if (roots.length === 0) {
    refuseWith('path-outside', 'registry.allowedPaths is empty, so no path may be registered');
  }
  const real = await realRoots(roots);
  const abs = resolve(candidate);
  if (!roots.some((r) => within(abs, r)) && !real.some((r) => within(abs, r))) {
    refuseWith('path-outside', 'it is outside every root in registry.allowedPaths');
  }
  let resolved: string;
  try {
    resolved = await realpath(abs);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') refuseWith('path-missing', 'no file is there');
    if (code === 'ELOOP') refuseWith('path-escape', 'its symlinks loop');
    throw new StoreError('registry: cannot resolve a registered path', { cause: err });
  }
  if (!real.some((r) => within(resolved, r))) {
    refuseWith('path-escape', 'a symlink in it leads outside every root in registry.allowedPaths');
  }
  return resolved;
}

/**
 * SHA-256 (lower-case hex) and size of the regular file at `path`, streamed: never whole in
 * memory. A final symlink, a FIFO or a device is refused (400 `path-not-regular`) rather than
 * followed or blocked on; nothing there is 400 `path-missing`.
 */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const opened = await openRegular(path).catch((err: unknown) => {
    throw new StoreError('registry: cannot open a file to hash', { cause: err });
  });
  if (opened === 'absent') refuseWith('path-missing', 'no file is there');
  if (typeof opened === 'string') refuseWith('path-not-regular', 'it is not a regular file');
  try {
    return await digestHandle(opened.handle);
  } catch (err) {
    throw new StoreError('registry: cannot read a file to hash', { cause: err });
  }
}

/**
 * Returns `name` when it may name a dataset or model (used in paths and ids): 1 to 128
 * characters of `a-z 0-9 . _ -`, starting with a letter or digit, without `..`. Otherwise 400
 * `name-invalid` with the broken rule in the message.
 */
export function validName(name: string): string {
  if (typeof name === 'string' && NAME.test(name) && !name.includes('..')) return name;
  throw new RegistryInputError('name-invalid', `The name is invalid: ${nameRule(name)}`);
}

function nameRule(name: unknown): string {
  if (typeof name !== 'string' || name === '') return 'it is empty';
  if (name.length > NAME_MAX) return `it is longer than ${NAME_MAX} characters`;
  if (name.includes('..')) return "it contains '..'";
  const bad = /[^a-z0-9._-]/u.exec(name)?.[0];
  if (bad !== undefined) {
    const cp = (bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    const shown = /[A-Z]/.test(bad) ? 'an upper-case letter' : `U+${cp}`;
    return `it contains ${shown}; only a-z, 0-9, '.', '_' and '-' are allowed`;
  }
  return 'it must start with a letter or a digit';
}
