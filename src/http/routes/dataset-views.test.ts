import { describe, expect, it } from 'vitest';
import { RegistryInputError } from '../../registry/index.js';
import { etagHeader, ifMatch } from './dataset-views.js';

describe('ifMatch', () => {
  it('reads one strong dataset etag', () => {
    expect(ifMatch(undefined)).toBeUndefined();
    expect(ifMatch('"1"')).toBe(1);
    expect(ifMatch(' "42" ')).toBe(42);
    expect(ifMatch(etagHeader(7))).toBe(7);
  });
  it('reads a weak tag or a tag that is not a dataset etag as one no dataset is at', () => {
    for (const h of ['W/"1"', '"abc"', '"0"', '"01"', '""', `"${'9'.repeat(16)}"`]) {
      expect(ifMatch(h), h).toBe(0);
    }
  });
  it('refuses *, lists and unquoted values with if-match-invalid', () => {
    for (const h of ['*', '"1", "2"', '1', ['"1"', '"2"']]) {
      let err: unknown;
      try {
        ifMatch(h);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RegistryInputError);
      expect((err as RegistryInputError).reason).toBe('if-match-invalid');
    }
  });
});
