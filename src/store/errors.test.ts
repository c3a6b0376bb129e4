/**
 * @module store/errors.test — which failures count as "the store is unavailable" (503), and
 * which stay plain store failures (500).
 */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../errors.js';
import { isStoreUnavailable, StoreUnavailableError } from './errors.js';

const withCode = (code: string, message = 'x'): Error =>
  Object.assign(new Error(message), { code });

describe('isStoreUnavailable', () => {
  it.each([
    ['connection refused', withCode('ECONNREFUSED')],
    ['connection reset', withCode('ECONNRESET')],
    ['admin shutdown (57P01)', withCode('57P01', 'terminating connection')],
    ['cannot connect now (57P03)', withCode('57P03')],
    ['connection exception class 08', withCode('08006')],
    ['socket closed under a query', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('timeout exceeded when trying to connect')],
    [
      'every address refused',
      Object.assign(new Error('aggregate'), { errors: [withCode('ECONNREFUSED')] }),
    ],
  ])('%s, wrapped in a StoreError, is an outage', (_name, driver) => {
    expect(
      isStoreUnavailable(new StoreError('PostgreSQL store: x failed', { cause: driver })),
    ).toBe(true);
  });

  it.each([
    ['unique violation', withCode('23505')],
    ['syntax error', withCode('42601')],
    ['serialization failure', withCode('40001')],
    ['a plain bug', new TypeError('undefined is not a function')],
  ])('%s is not', (_name, driver) => {
    expect(isStoreUnavailable(new StoreError('x failed', { cause: driver }))).toBe(false);
    expect(isStoreUnavailable(driver)).toBe(false);
  });

  it('is a 503 with Retry-After whose message says nothing about the database', () => {
    const e = new StoreUnavailableError({ cause: withCode('ECONNREFUSED', '127.0.0.1:5432') });
    expect(isStoreUnavailable(e)).toBe(true);
    expect(e).toMatchObject({ statusCode: 503, code: 'STORE_UNAVAILABLE', retryAfter: 2 });
    expect(e.message).not.toMatch(/127|5432/);
  });

  it('survives non-errors and cyclic causes', () => {
    const a: { cause?: unknown } = {};
    a.cause = a;
    expect(isStoreUnavailable(a)).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
    expect(isStoreUnavailable('ECONNREFUSED')).toBe(false);
  });
});
