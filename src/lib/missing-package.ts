/**
 * @module lib/missing-package — tells "this package is not installed" apart from every other
 * failure to import it, so a lazily loaded backend can say what to install.
 */

/**
 * True when `err` is Node's report that the package `name` itself cannot be found (ESM
 * `ERR_MODULE_NOT_FOUND` or CommonJS `MODULE_NOT_FOUND`), not a file inside it, nor one of its
 * own dependencies, nor an error its code threw while loading.
 */
export function isMissingPackage(err: unknown, name: string): boolean {
  if (!(err instanceof Error) || !('code' in err)) return false;
  if (err.code !== 'ERR_MODULE_NOT_FOUND' && err.code !== 'MODULE_NOT_FOUND') return false;
  return err.message.includes(`'${name}'`);
}
