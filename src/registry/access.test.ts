import { describe, expect, it } from 'vitest';
import { datasetAccess, grants, PRINCIPAL } from './access.js';

const owner = { issuer: 'https://gh', subject: 'alice' };
const caller = (over: Partial<Parameters<typeof datasetAccess>[0]> = {}) => ({
  issuer: 'https://gh',
  subject: 'bob',
  clientId: 'ci',
  roles: ['developer'],
  ...over,
});

describe('datasetAccess', () => {
  it('gives the owner admin, and only with the owner issuer', () => {
    expect(datasetAccess(caller({ subject: 'alice' }), { owner, acl: [] })).toBe('admin');
    expect(
      datasetAccess(caller({ subject: 'alice', issuer: 'https://other' }), { owner, acl: [] }),
    ).toBeUndefined();
  });

  it('takes the highest access among matching entries', () => {
    const acl = [
      { principal: 'role:developer', access: 'read' as const },
      { principal: 'client:ci', access: 'write' as const },
      { principal: 'sub:carol', access: 'admin' as const },
    ];
    expect(datasetAccess(caller(), { owner, acl })).toBe('write');
    expect(datasetAccess(caller({ clientId: undefined }), { owner, acl })).toBe('read');
    expect(datasetAccess(caller({ subject: 'carol' }), { owner, acl })).toBe('admin');
    expect(datasetAccess(caller({ roles: [], clientId: 'x' }), { owner, acl })).toBeUndefined();
  });

  it('ignores malformed and empty principals', () => {
    const acl = [
      { principal: 'sub:', access: 'admin' as const },
      { principal: ':bob', access: 'admin' as const },
      { principal: 'user:bob', access: 'admin' as const },
      { principal: 'bob', access: 'admin' as const },
    ];
    expect(datasetAccess(caller({ subject: '' }), { owner, acl })).toBeUndefined();
    expect(datasetAccess(caller(), { owner, acl })).toBeUndefined();
  });

  it('orders read < write < admin', () => {
    expect(grants('admin', 'write')).toBe(true);
    expect(grants('write', 'write')).toBe(true);
    expect(grants('read', 'write')).toBe(false);
    expect(grants(undefined, 'read')).toBe(false);
  });

  it('accepts only sub:, client: and role: principals without control characters', () => {
    expect(PRINCIPAL.test('sub:alice@example.com')).toBe(true);
    expect(PRINCIPAL.test('role:ml-engineer')).toBe(true);
    expect(PRINCIPAL.test('group:x')).toBe(false);
    expect(PRINCIPAL.test('sub:a b')).toBe(false);
    expect(PRINCIPAL.test('sub:a\u0000')).toBe(false);
    expect(PRINCIPAL.test('sub:')).toBe(false);
  });
});
