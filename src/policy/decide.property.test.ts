/**
 * Property tests of policy decisions (fast-check): for random policies and random tokens, a
 * decision never allows an action that no role of the token grants (on that resource), and never
 * an action whose scope the token lacks; and everything granted and carried is allowed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch } from './pattern.js';
import { SCOPES } from './roles.js';
import { policySchema, type PolicyDocument } from './schema.js';
import { Snapshot } from './snapshot.js';

const ROLE_NAMES = ['developer', 'ml-engineer', 'auditor', 'admin', 'ops'];
const IDS = ['use-lite', 'chat-large', 'chat-small', 'prompt-injection', 'news', 'hr.v2'];
const patterns = fc.array(fc.constantFrom('*', 'chat-*', 'use-lite', '?ews', 'hr.*', 'x'), {
  maxLength: 3,
});
const role = fc.record({
  scopes: fc.uniqueArray(fc.constantFrom(...SCOPES), { maxLength: 6 }),
  models: patterns,
  datasets: patterns,
});
const policyDoc = fc
  .dictionary(fc.constantFrom(...ROLE_NAMES), role, { minKeys: 1 })
  .map((roles): PolicyDocument =>
    policySchema.parse({
      version: 1,
      roles: Object.fromEntries(
        Object.entries(roles).map(([n, r]) => [
          n,
          { ...r, dataControls: { systemMessages: 'refuse' as const } },
        ]),
      ),
    }),
  );
const token = fc.record({
  roles: fc.array(fc.constantFrom(...ROLE_NAMES, 'unknown', 'a,b'), { maxLength: 3 }),
  scopes: fc.uniqueArray(fc.constantFrom(...SCOPES, 'not-a-scope'), { maxLength: 8 }),
});
const ask = fc.record({
  action: fc.constantFrom(...SCOPES, 'not-a-scope'),
  resource: fc.option(
    fc.tuple(fc.constantFrom('model', 'dataset', 'file'), fc.constantFrom(...IDS)),
    { nil: undefined },
  ),
});

/** What the policy grants, computed the slow, obvious way. */
function granted(
  doc: PolicyDocument,
  roles: string[],
  action: string,
  resource?: [string, string],
) {
  return roles.some((name) => {
    const r = Object.hasOwn(doc.roles, name) ? doc.roles[name] : undefined;
    if (!r?.scopes.includes(action)) return false;
    if (resource === undefined) return true;
    const [kind, id] = resource;
    const list = kind === 'model' ? r.models : kind === 'dataset' ? r.datasets : [];
    return list.some((p) => globMatch(p, id));
  });
}

describe('policy decisions (properties)', () => {
  it('allows exactly what a role of the token grants and the token carries', () => {
    fc.assert(
      fc.property(
        policyDoc,
        fc.array(fc.tuple(token, ask), { minLength: 1, maxLength: 20 }),
        (doc, asks) => {
          const p = new Snapshot(doc, '0'.repeat(64), 'random');
          // Twice: the second pass answers from the cache and must agree.
          for (let pass = 0; pass < 2; pass++) {
            for (const [t, a] of asks) {
              const resource =
                a.resource === undefined ? undefined : `${a.resource[0]}:${a.resource[1]}`;
              const d = p.decide({
                roles: t.roles,
                scopes: new Set(t.scopes),
                action: a.action,
                resource,
              });
              const carried = t.scopes.includes(a.action);
              const roleGrants = granted(doc, t.roles, a.action, a.resource);
              // Never a scope the token lacks; never beyond what its roles grant.
              if (d.allowed) {
                expect(carried).toBe(true);
                expect(roleGrants).toBe(true);
              }
              // Deny by default, but not more than that: carried and granted is allowed.
              expect(d.allowed).toBe(carried && roleGrants);
              expect(d.reason.startsWith(d.allowed ? 'allowed: ' : 'denied: ')).toBe(true);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('grants a role list no scope that none of its roles holds', () => {
    fc.assert(
      fc.property(policyDoc, token, (doc, t) => {
        const p = new Snapshot(doc, '0'.repeat(64), 'random');
        for (const s of p.grantedScopes(t.roles)) {
          expect(granted(doc, t.roles, s)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
