import { describe, expect, it } from 'vitest';
import { decideIntrospection, decideRevocation } from './decisions.js';

const alice = { clientId: 'alice', scopes: ['models:read'] };
const admin = { clientId: 'root', scopes: ['clients:admin'] };

describe('token-management decisions', () => {
  it('lets a client introspect its own tokens, and others only with clients:admin', () => {
    expect(decideIntrospection(alice, 'alice')).toEqual({ allowed: true, reason: 'own token' });
    expect(decideIntrospection(alice, 'bob').allowed).toBe(false);
    expect(decideIntrospection(alice, undefined).allowed).toBe(false);
    expect(decideIntrospection(admin, 'bob')).toEqual({
      allowed: true,
      reason: 'caller holds clients:admin',
    });
  });

  it('lets a client revoke only its own tokens, whatever its scopes', () => {
    expect(decideRevocation(alice, 'alice').allowed).toBe(true);
    expect(decideRevocation(admin, 'bob').allowed).toBe(false);
    expect(decideRevocation(alice, undefined).allowed).toBe(false);
  });
});
