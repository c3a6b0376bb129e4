import { describe, expect, it } from 'vitest';
import { builtinPolicy, builtinPolicyText } from './builtin.js';
import { PolicyFileError, type PolicyIssue } from './errors.js';
import { parsePolicy } from './parse.js';

/** The issues parsing `text` reports (the test fails if it parses). */
function issues(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyFileError);
    return [...(err as PolicyFileError).issues];
  }
  throw new Error('parsed, but should have been refused');
}

const DEV = 'roles:\n  developer:\n    scopes: [inference:invoke]\n';

describe('policy file parsing', () => {
  it('parses a file and fills in the empty sections', () => {
    const doc = parsePolicy(
      'version: 1\nroles:\n  developer:\n    description: people\n    scopes: [inference:invoke, models:read]\n    models: [use-lite, "chat-*"]\n',
      'p.yaml',
    );
    expect(doc).toEqual({
      version: 1,
      guard: { patterns: [], models: {} },
      training: { labels: {} },
      roles: {
        developer: {
          description: 'people',
          scopes: ['inference:invoke', 'models:read'],
          models: ['use-lite', 'chat-*'],
          datasets: [],
          limits: { models: {} },
          // Deny by default: a role the file does not let send system messages has them refused.
          dataControls: {
            systemMessages: 'refuse',
            // Found PII and secrets are redacted, injections blocked, unless the file says so.
            prompts: {},
            outputs: {},
            injection: { action: 'block', threshold: 0.5, classifier: 'uncertain' },
            terms: { deny: [], allow: [] },
            dryRun: [],
          },
        },
      },
    });
  });

  // Each case: the file, then exactly the issues it must report (path, line, column, message).
  const cases: [string, string, Partial<PolicyIssue>[]][] = [
    [
      'an unknown top-level key',
      `${DEV}rolez: {}\n`,
      [{ path: 'rolez', line: 4, column: 1, message: 'unknown key' }],
    ],
    [
      'an unknown key in a role',
      `${DEV}    model: ["*"]\n`,
      [{ path: 'roles.developer.model', line: 4, column: 5, message: 'unknown key' }],
    ],
    [
      'an unknown key in limits',
      `${DEV}    limits:\n      rpm: 10\n`,
      [{ path: 'roles.developer.limits.rpm', line: 5, column: 7, message: 'unknown key' }],
    ],
    [
      'an unknown key in dataControls',
      `${DEV}    dataControls: {pii: redact}\n`,
      [{ path: 'roles.developer.dataControls.pii', line: 4, column: 20, message: 'unknown key' }],
    ],
    [
      'two unknown keys, each on its own line',
      `${DEV}    foo: 1\n    bar: 2\n`,
      [
        { path: 'roles.developer.foo', line: 4, column: 5 },
        { path: 'roles.developer.bar', line: 5, column: 5 },
      ],
    ],
    [
      'an unknown scope',
      'roles:\n  developer:\n    scopes:\n      - models:read\n      - inference:invok\n',
      [{ path: 'roles.developer.scopes[1]', line: 5, column: 9 }],
    ],
    [
      'a scope listed twice',
      'roles:\n  developer:\n    scopes: [models:read, models:read]\n',
      [{ path: 'roles.developer.scopes', line: 3, column: 13, message: 'scopes are listed twice' }],
    ],
    [
      'a model pattern with a slash',
      `${DEV}    models: [use-lite, "org/chat-*"]\n`,
      [{ path: 'roles.developer.models[1]', line: 4, column: 24 }],
    ],
    [
      'a regex-style dataset pattern',
      `${DEV}    datasets:\n      - "train.+"\n`,
      [{ path: 'roles.developer.datasets[0]', line: 5, column: 9 }],
    ],
    [
      'an empty pattern',
      `${DEV}    models: [""]\n`,
      [{ path: 'roles.developer.models[0]', line: 4, column: 14, message: 'empty pattern' }],
    ],
    [
      'a pattern longer than 128 characters',
      `${DEV}    models: [${'a'.repeat(129)}]\n`,
      [{ path: 'roles.developer.models[0]', line: 4, column: 14 }],
    ],
    [
      'a pattern that is not a string',
      `${DEV}    models: [1]\n`,
      [{ path: 'roles.developer.models[0]', line: 4, column: 14 }],
    ],
    [
      'a role without scopes',
      'roles:\n  developer:\n    models: ["*"]\n',
      [{ path: 'roles.developer.scopes', line: 2, column: 3, message: 'required (a list)' }],
    ],
    [
      'a role name in capitals',
      'roles:\n  Developer:\n    scopes: []\n',
      [{ path: 'roles.Developer', line: 2, column: 3 }],
    ],
    ['no roles at all', 'version: 1\n', [{ path: 'roles', line: 1, column: 1 }]],
    ['an empty roles map', 'roles: {}\n', [{ path: 'roles', line: 1, column: 8 }]],
    ['an unknown version', `version: 2\n${DEV}`, [{ path: 'version', line: 1, column: 10 }]],
    [
      'a duplicate role',
      `${DEV}  developer:\n    scopes: []\n`,
      [{ path: '', line: 4, column: 3, message: 'duplicate key "developer"' }],
    ],
    ['a YAML syntax error', 'roles:\n  developer: [\n', [{ path: '', line: 3 }]],
    ['an empty file', '', [{ path: '', line: 1, message: 'the policy file is empty' }]],
    ['a list at the top', '- developer\n', [{ path: '', line: 1, column: 1 }]],
  ];

  it.each(cases)('refuses %s, naming the key and the line', (_name, text, expected) => {
    const got = issues(text);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(got[i]).toMatchObject(e);
    });
  });

  it('says which scope is unknown, and lists the known ones', () => {
    const [issue] = issues('roles:\n  dev:\n    scopes: [inference:invok]\n');
    expect(issue?.message).toMatch(/^unknown scope "inference:invok" \(known: inference:invoke /);
  });

  it('puts the file, line and key in the error message, one line per issue', () => {
    expect(() => {
      parsePolicy(`${DEV}    foo: 1\n    models: ["a b"]\n`, '/etc/gatehouse/policy.yaml');
    }).toThrow(
      [
        'invalid policy file',
        '/etc/gatehouse/policy.yaml:5:14: roles.developer.models[0]: pattern "a b" has the character " "; use letters, digits, . _ : - and the wildcards * ?',
        '/etc/gatehouse/policy.yaml:4:5: roles.developer.foo: unknown key',
      ].join('\n'),
    );
  });

  it('refuses a billion-laughs alias bomb instead of expanding it', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      ...Array.from({ length: 8 }, (_, i) => {
        const p = i === 0 ? 'a' : `b${i - 1}`;
        return `b${i}: &b${i} [${Array.from({ length: 10 }, () => `*${p}`).join(',')}]`;
      }),
      'roles: {dev: {scopes: [], models: *b7}}',
    ].join('\n');
    expect(issues(bomb)).toEqual([
      { path: '', line: 1, column: 1, message: 'too many YAML aliases' },
    ]);
  });

  it('reads the built-in policy text back as the built-in policy', () => {
    const doc = parsePolicy(builtinPolicyText(), 'builtin');
    expect(doc).toEqual(builtinPolicy().document);
    expect(Object.keys(doc.roles)).toEqual(['developer', 'ml-engineer', 'auditor', 'admin']);
    expect(builtinPolicy().sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the README examples', () => {
  it('are valid policy files', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n# policy\.yaml\n([\s\S]*?)```/g)].map(
      (m) => m[1] ?? '',
    );
    // The Policy section's, the rate limits' (and any later one): each must parse as it stands.
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const docs = blocks.map((b) => parsePolicy(b, 'README.md'));
    expect(docs.map((d) => d.roles.developer?.models)).toContainEqual(['use-lite', 'chat-*']);
    expect(docs.some((d) => d.roles.developer?.limits.requestsPerMinute === 60)).toBe(true);
  });
});
