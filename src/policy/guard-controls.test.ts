import { describe, expect, it } from 'vitest';
import { PolicyFileError } from './errors.js';
import { parsePolicy } from './parse.js';
import { Snapshot } from './snapshot.js';

const FILE = `
guard:
  patterns:
    - name: EMPLOYEE_ID
      pattern: 'EMP-[0-9]{6}'
  models:
    "*": { deny: [codename] }
    stories: { deny: [bluebird], allow: [support@example.com] }
roles:
  analyst:
    scopes: [inference:invoke]
    dataControls:
      prompts: { default: block, EMAIL: allow, EMPLOYEE_ID: redact }
      outputs: { default: allow }
      injection: { action: flag, threshold: 0.7, classifier: never }
      terms: { deny: [Secret Project, alpha], allow: [ops@example.com] }
      dryRun: [terms]
  intern:
    scopes: [inference:invoke]
    dataControls:
      prompts: { EMAIL: block, PHONE: allow }
      terms: { deny: [secret project] }
  plain:
    scopes: [inference:invoke]
`;
const snap = () => new Snapshot(parsePolicy(FILE, 'p.yaml'), 'f'.repeat(64), 'p.yaml');

describe('data controls of the content guards', () => {
  it('gives a role its own settings, with redact and block-at-0.5 as the defaults', () => {
    const s = snap();
    const a = s.dataControls(['analyst']);
    expect(a.prompts.default).toBe('block');
    expect(Object.fromEntries(a.prompts.types)).toEqual({ EMAIL: 'allow', EMPLOYEE_ID: 'redact' });
    expect(a.outputs).toEqual({ default: 'allow', types: new Map() });
    expect(a.injection).toEqual({ action: 'flag', threshold: 0.7, classifier: 'never' });
    expect([...a.dryRun]).toEqual(['terms']);
    const p = s.dataControls(['plain']);
    expect(p.prompts).toEqual({ default: 'redact', types: new Map() });
    expect(p.injection).toEqual({ action: 'block', threshold: 0.5, classifier: 'uncertain' });
    expect(p.terms).toEqual({ deny: [], allow: [] });
  });

  it('merges roles to the most permissive setting per type and control', () => {
    const m = snapshotMerge();
    // analyst: default block, EMAIL allow; intern: default redact, EMAIL block, PHONE allow.
    expect(m.prompts.default).toBe('redact');
    expect(m.prompts.types.get('EMAIL')).toBe('allow');
    expect(m.prompts.types.get('PHONE')).toBe('allow');
    expect(m.prompts.types.get('EMPLOYEE_ID') ?? m.prompts.default).toBe('redact');
    expect(m.injection).toEqual({ action: 'flag', threshold: 0.7, classifier: 'never' });
    // A term is denied only when every role denies it (case-insensitively); allows add up.
    expect(m.terms).toEqual({ deny: ['secret project'], allow: ['ops@example.com'] });
    expect([...m.dryRun]).toEqual(['terms']);
  });

  it('applies the strictest settings to a caller with no role the policy defines', () => {
    const none = snap().dataControls(['nobody']);
    expect(none.prompts).toEqual({ default: 'redact', types: new Map() });
    expect(none.injection).toEqual({ action: 'block', threshold: 0.5, classifier: 'uncertain' });
    expect(none.dryRun.size).toBe(0);
  });

  it('compiles the operator patterns and lists terms per model with the * entry', () => {
    const s = snap();
    expect(s.patterns.map((d) => d.name)).toEqual(['custom:EMPLOYEE_ID']);
    expect(s.patterns[0]?.detect('id EMP-123456 ok')).toEqual([
      { type: 'EMPLOYEE_ID', start: 3, end: 13, guard: 'custom:EMPLOYEE_ID' },
    ]);
    expect(s.modelTerms('stories')).toEqual({
      deny: ['codename', 'bluebird'],
      allow: ['support@example.com'],
    });
    expect(s.modelTerms('other')).toEqual({ deny: ['codename'], allow: [] });
  });

  const refused: [string, string, string][] = [
    [
      'an unsafe pattern',
      `guard:\n  patterns:\n    - { name: BAD, pattern: '(a+)+$' }\nroles:\n  r: { scopes: [] }\n`,
      'guard.patterns[0].pattern',
    ],
    [
      'a pattern that is not a regular expression',
      `guard:\n  patterns:\n    - { name: BAD, pattern: '([a-z' }\nroles:\n  r: { scopes: [] }\n`,
      'guard.patterns[0].pattern',
    ],
    [
      'a pattern named like a built-in type',
      `guard:\n  patterns:\n    - { name: EMAIL, pattern: 'x@y' }\nroles:\n  r: { scopes: [] }\n`,
      'guard.patterns[0].pattern',
    ],
    [
      'a pattern defined twice',
      `guard:\n  patterns:\n    - { name: ID, pattern: 'a1' }\n    - { name: ID, pattern: 'b2' }\nroles:\n  r: { scopes: [] }\n`,
      'guard.patterns',
    ],
    [
      'an unknown finding type',
      `roles:\n  r:\n    scopes: []\n    dataControls: { prompts: { EMAILS: block } }\n`,
      'roles.r.dataControls.prompts.EMAILS',
    ],
    [
      'an unknown action',
      `roles:\n  r:\n    scopes: []\n    dataControls: { outputs: { EMAIL: hide } }\n`,
      'roles.r.dataControls.outputs.EMAIL',
    ],
    [
      'an unknown guard in dryRun',
      `roles:\n  r:\n    scopes: []\n    dataControls: { dryRun: [pii, spam] }\n`,
      'roles.r.dataControls.dryRun[1]',
    ],
    [
      'a threshold above 1',
      `roles:\n  r:\n    scopes: []\n    dataControls: { injection: { threshold: 1.5 } }\n`,
      'roles.r.dataControls.injection.threshold',
    ],
  ];
  it.each(refused)('refuses %s, naming the key', (_name, text, path) => {
    let err: unknown;
    try {
      parsePolicy(text, 'p.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyFileError);
    expect((err as PolicyFileError).issues.map((i) => i.path)).toContain(path);
  });
});

function snapshotMerge() {
  return snap().dataControls(['analyst', 'intern']);
}
