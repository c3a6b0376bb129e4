/**
 * @module test/support/hide-packages — a module-resolution hook (`node --import`) that makes the
 * packages named in `HIDE_PACKAGES` (comma-separated) fail to resolve exactly as Node reports a
 * package that is not installed, so tests can see what a backend says on a lean install.
 */
import { register } from 'node:module';

const hook = `
const hidden = new Set((process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean));
export async function resolve(specifier, context, next) {
  if (hidden.has(specifier)) {
    const err = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hook)}`);
