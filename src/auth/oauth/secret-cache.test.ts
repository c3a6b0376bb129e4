import { describe, expect, it } from 'vitest';
import { VerifiedSecretCache } from './secret-cache.js';

describe('VerifiedSecretCache', () => {
  it('remembers a verified secret for its TTL only', () => {
    const c = new VerifiedSecretCache(1000);
    c.add('id', 'secret', 'h1', 0);
    expect(c.has('id', 'secret', 'h1', 999)).toBe(true);
    expect(c.has('id', 'secret', 'h1', 1000)).toBe(false);
  });

  it('never matches another secret, another client or a changed stored hash', () => {
    const c = new VerifiedSecretCache(1000);
    c.add('id', 'secret', 'h1', 0);
    expect(c.has('id', 'secret2', 'h1', 1)).toBe(false);
    expect(c.has('id2', 'secret', 'h1', 1)).toBe(false);
    // The separator keeps ("ab","c") and ("a","bc") apart.
    c.add('ab', 'c', 'h', 0);
    expect(c.has('a', 'bc', 'h', 1)).toBe(false);
    expect(c.has('id', 'secret', 'h2', 1)).toBe(false);
  });

  it('stays bounded, dropping the oldest entry', () => {
    const c = new VerifiedSecretCache(1000, 2);
    c.add('a', 's', 'h', 0);
    c.add('b', 's', 'h', 0);
    c.add('c', 's', 'h', 0);
    expect(c.has('a', 's', 'h', 1)).toBe(false);
    expect(c.has('b', 's', 'h', 1)).toBe(true);
    expect(c.has('c', 's', 'h', 1)).toBe(true);
  });
});
