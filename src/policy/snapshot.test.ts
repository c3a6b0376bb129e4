import { describe, expect, it } from 'vitest';
import { builtinPolicy } from './builtin.js';
import { parsePolicy } from './parse.js';
import { Snapshot } from './snapshot.js';

const FILE = `
roles:
  developer:
    scopes: [inference:invoke, models:read]
    models: [use-lite, "chat-*"]
  trainer:
    scopes: [datasets:read, datasets:write]
    datasets: ["public-*"]
  reader:
    scopes: [models:read]
`;
const policy = (size?: number) =>
  new Snapshot(parsePolicy(FILE, 'p.yaml'), 'f'.repeat(64), 'p.yaml', size);
const all = (p: Snapshot, roles: string[]) => p.grantedScopes(roles);

describe('policy decisions', () => {
  const p = policy();
  const ask = (roles: string[], action: string, resource?: string, scopes = all(p, roles)) =>
    p.decide({ roles, scopes, action, resource });

  it('allows what a role grants, naming the role, the action and the resource', () => {
    expect(ask(['developer'], 'inference:invoke', 'model:use-lite')).toEqual({
      allowed: true,
      reason: 'allowed: role developer grants inference:invoke on use-lite',
      action: 'inference:invoke',
      resource: 'model:use-lite',
    });
    expect(ask(['developer'], 'inference:invoke', 'model:chat-small').reason).toBe(
      'allowed: role developer grants inference:invoke on chat-small',
    );
    expect(ask(['reader', 'developer'], 'models:read').reason).toBe(
      'allowed: role reader grants models:read',
    );
    expect(ask(['trainer'], 'datasets:write', 'dataset:public-news').allowed).toBe(true);
  });

  it('denies by default: a model no pattern matches, a role without the scope, no role', () => {
    expect(ask(['developer'], 'inference:invoke', 'model:prompt-injection')).toMatchObject({
      allowed: false,
      reason: 'denied: no role grants inference:invoke on prompt-injection',
    });
    expect(
      ask(['reader'], 'inference:invoke', 'model:use-lite', new Set(['inference:invoke'])),
    ).toMatchObject({
      allowed: false,
      reason: 'denied: no role grants inference:invoke on use-lite',
    });
    expect(ask(['trainer'], 'datasets:read', 'dataset:private-hr').allowed).toBe(false);
    expect(ask(['nobody'], 'models:read', undefined, new Set(['models:read'])).reason).toBe(
      'denied: no role grants models:read',
    );
    expect(ask([], 'models:read', undefined, new Set(['models:read'])).allowed).toBe(false);
  });

  it('never lets a token use a scope it lacks, whatever its roles grant', () => {
    expect(
      ask(['developer'], 'inference:invoke', 'model:use-lite', new Set(['models:read'])),
    ).toEqual({
      allowed: false,
      reason: 'denied: token lacks scope inference:invoke',
      action: 'inference:invoke',
      resource: 'model:use-lite',
    });
  });

  it('matches model patterns against model resources only, and refuses other kinds', () => {
    // trainer's dataset patterns say nothing about models, developer's models nothing of datasets
    expect(ask(['developer'], 'inference:invoke', 'dataset:use-lite').allowed).toBe(false);
    expect(ask(['developer'], 'inference:invoke', 'file:use-lite').reason).toBe(
      'denied: unknown resource kind in file:use-lite',
    );
    expect(ask(['developer'], 'inference:invoke', 'model:chat/x').allowed).toBe(false);
    expect(ask(['developer'], 'inference:invoke', 'model:').allowed).toBe(false);
  });

  it('answers a cached decision exactly as a fresh one, also for another token scope set', () => {
    const first = ask(['developer'], 'inference:invoke', 'model:use-lite');
    expect(ask(['developer'], 'inference:invoke', 'model:use-lite')).toBe(first);
    expect(ask(['developer'], 'inference:invoke', 'model:use-lite', new Set()).allowed).toBe(false);
  });

  it('never confuses a role list with a role whose name holds the separator', () => {
    const q = new Snapshot(
      parsePolicy('roles:\n  a:\n    scopes: [models:read]\n  b:\n    scopes: []\n', 'q'),
      '0'.repeat(64),
      'q',
    );
    const scopes = new Set(['models:read']);
    expect(q.decide({ roles: ['a', 'b'], scopes, action: 'models:read' }).allowed).toBe(true);
    expect(q.decide({ roles: ['a,b'], scopes, action: 'models:read' }).allowed).toBe(false);
    expect(q.decide({ roles: ['b\na'], scopes, action: 'models:read' }).allowed).toBe(false);
    expect(q.grantedScopes(['a,b']).size).toBe(0);
  });

  it('keeps the decision cache bounded under a flood of distinct resources', () => {
    const small = policy(8);
    for (let i = 0; i < 1000; i++) {
      const d = small.decide({
        roles: ['developer'],
        scopes: new Set(['inference:invoke']),
        action: 'inference:invoke',
        resource: `model:chat-${i}`,
      });
      expect(d.allowed).toBe(true);
    }
    // Still right after evictions.
    expect(
      small.decide({
        roles: ['developer'],
        scopes: new Set(['inference:invoke']),
        action: 'inference:invoke',
        resource: 'model:x',
      }).allowed,
    ).toBe(false);
  });

  it('grants the built-in roles their DESIGN.md scopes', () => {
    const b = builtinPolicy();
    expect([...b.grantedScopes(['developer'])].sort()).toEqual([
      'inference:invoke',
      'models:read',
      'usage:read',
    ]);
    expect(b.grantedScopes(['auditor']).has('inference:invoke')).toBe(false);
    expect(b.grantedScopes(['admin']).has('policy:admin')).toBe(true);
    expect(b.roleNames()).toEqual(['developer', 'ml-engineer', 'auditor', 'admin']);
    const scopes = b.grantedScopes(['ml-engineer']);
    expect(
      b.decide({
        roles: ['ml-engineer'],
        scopes,
        action: 'inference:invoke',
        resource: 'model:anything',
      }).allowed,
    ).toBe(true);
  });
});

describe('training labels', () => {
  const policy = (text: string) => new Snapshot(parsePolicy(text, 't'), 'e'.repeat(64), 't');
  const ROLES = 'roles:\n  a:\n    scopes: [models:read]\n';

  it('refuses pii for every model unless training.labels lists it', () => {
    const p = policy(ROLES);
    expect(p.trainingUse(['public', 'confidential'], 'm')).toMatchObject({ allowed: true });
    expect(p.trainingUse(['public', 'pii'], 'm')).toEqual({
      allowed: false,
      reason: 'denied: no model may be trained on pii data',
    });
    expect(builtinPolicy().trainingUse(['pii'], 'm').allowed).toBe(false);
  });

  it('allows a listed label only for the models its patterns match', () => {
    const p = policy(`training:\n  labels:\n    pii: [support-*]\n    confidential: []\n${ROLES}`);
    expect(p.trainingUse(['pii'], 'support-bot').allowed).toBe(true);
    expect(p.trainingUse(['pii'], 'chat')).toEqual({
      allowed: false,
      reason: 'denied: training.labels.pii does not allow model chat',
    });
    expect(p.trainingUse(['confidential'], 'support-bot').allowed).toBe(false);
    expect(p.trainingUse([], 'chat').allowed).toBe(true);
  });

  it('refuses a malformed label or pattern at load', () => {
    expect(() => policy(`training:\n  labels:\n    PII: ['*']\n${ROLES}`)).toThrow(/labels are/);
    expect(() => policy(`training:\n  labels:\n    pii: ['a b']\n${ROLES}`)).toThrow();
    expect(() => policy(`training:\n  oops: 1\n${ROLES}`)).toThrow();
  });
});

describe('rate limits of a caller', () => {
  const LIMITED = `
roles:
  developer:
    scopes: [inference:invoke]
    limits:
      requestsPerMinute: 60
      tokensPerDay: 100000
      models:
        "chat-*": { tokensPerMinute: 2000, concurrentRequests: 2 }
  power:
    scopes: [inference:invoke]
    limits:
      requestsPerMinute: 600
      models:
        "chat-*": { tokensPerMinute: 8000 }
        "embed-*": { requestsPerMinute: 1000 }
  open:
    scopes: [inference:invoke]
`;
  const p = new Snapshot(parsePolicy(LIMITED, 'l.yaml'), 'e'.repeat(64), 'l.yaml');

  it('gives one role its own limits', () => {
    expect(p.rateLimits(['developer'])).toEqual({
      requestsPerMinute: 60,
      tokensPerDay: 100000,
      models: { 'chat-*': { tokensPerMinute: 2000, concurrentRequests: 2 } },
    });
  });

  it('keeps a budget only when every role sets it, at the largest value, per model too', () => {
    expect(p.rateLimits(['developer', 'power'])).toEqual({
      requestsPerMinute: 600,
      models: { 'chat-*': { tokensPerMinute: 8000 } },
    });
    // A role without limits lifts them all; unknown roles change nothing.
    expect(p.rateLimits(['developer', 'open'])).toEqual({ models: {} });
    expect(p.rateLimits(['developer', 'nobody'])).toEqual(p.rateLimits(['developer']));
  });

  it('sets no limits for a caller with no role the policy defines, nor in the built-in policy', () => {
    expect(p.rateLimits([])).toEqual({ models: {} });
    expect(p.rateLimits(['nobody'])).toEqual({ models: {} });
    expect(builtinPolicy().rateLimits(['developer'])).toEqual({ models: {} });
  });

  it('answers the same frozen object for the same roles', () => {
    const a = p.rateLimits(['power', 'developer']);
    expect(p.rateLimits(['power', 'developer'])).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });
});
