import { describe, expect, it } from 'vitest';
import { validAcl, validLabels } from './datasets.js';
import { RegistryInputError } from './errors.js';

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryInputError);
    return (err as RegistryInputError).reason;
  }
  return undefined;
};

describe('validLabels', () => {
  it('accepts lower-case labels once each', () => {
    expect(validLabels(['pii', 'confidential', 'team.ml-1'])).toEqual([
      'pii',
      'confidential',
      'team.ml-1',
    ]);
    expect(validLabels([])).toEqual([]);
  });
  it.each([[['PII']], [['1pii']], [['']], [['a b']], [['pii', 'pii']], [['x'.repeat(65)]]])(
    'refuses %j with label-invalid',
    (labels) => {
      expect(reasonOf(() => validLabels(labels))).toBe('label-invalid');
    },
  );
  it('refuses more than 64 labels', () => {
    const many = Array.from({ length: 65 }, (_, i) => `l${String(i)}`);
    expect(reasonOf(() => validLabels(many))).toBe('label-invalid');
  });
});

describe('validAcl', () => {
  it('accepts sub:, client: and role: principals with read, write or admin', () => {
    const acl = [
      { principal: 'sub:alice@example.com', access: 'read' as const },
      { principal: 'client:gh_ci', access: 'write' as const },
      { principal: 'role:auditor', access: 'admin' as const },
    ];
    expect(validAcl(acl)).toEqual(acl);
  });
  it.each([
    [{ principal: 'group:x', access: 'read' }],
    [{ principal: 'sub:', access: 'read' }],
    [{ principal: 'sub:a\u0000', access: 'read' }],
    [{ principal: 'sub:a', access: 'owner' }],
  ])('refuses %j with acl-invalid', (entry) => {
    expect(reasonOf(() => validAcl([entry as never]))).toBe('acl-invalid');
  });
  it('refuses a principal listed twice', () => {
    const twice = [
      { principal: 'sub:a', access: 'read' as const },
      { principal: 'sub:a', access: 'admin' as const },
    ];
    expect(reasonOf(() => validAcl(twice))).toBe('acl-invalid');
  });
});
