/**
 * The labelled corpora through the request pipeline's own code (guard/pipeline, what
 * `POST /v1/guard/inspect` and every request run): under a policy that blocks every finding,
 * each PII line with a label is blocked and each hard negative allowed; under the default
 * injection rule, each injection line is blocked and each benign line allowed. Figures
 * (precision, recall, false positives) belong to `npm run bench:guard`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Guards, Redactor } from '../src/guard/index.js';
import { parsePolicy } from '../src/policy/parse.js';
import { Snapshot } from '../src/policy/snapshot.js';

const read = <T>(name: string): T[] =>
  readFileSync(new URL(`./fixtures/guard/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

const pii = read<{ id: number; text: string; findings: unknown[] }>('pii-corpus.jsonl');
const injection = read<{ text: string; label: 'injection' | 'benign' }>('injection-corpus.jsonl');

const policy = new Snapshot(
  parsePolicy(
    `roles:\n  blocker:\n    scopes: []\n    dataControls: { prompts: { default: block }, injection: { action: allow } }\n  standard:\n    scopes: []\n    dataControls: { prompts: { default: allow } }\n`,
    'p.yaml',
  ),
  'f'.repeat(64),
  'p.yaml',
);
const guards = new Guards({ enabled: true, budgetMs: 500 });
const verdict = (role: string, text: string, withInjection: boolean) =>
  guards.checkPrompt(
    guards.compiled(policy, policy.dataControls([role]), 'm'),
    [text],
    new Redactor(),
    { injection: withInjection },
  );

describe('labelled corpora through the pipeline', () => {
  it.each(pii.map((l) => [l.id, l.findings.length > 0 ? 'block' : 'allow', l.text] as const))(
    'PII line %i: %s',
    async (_id, want, text) => {
      expect((await verdict('blocker', text, false)).action).toBe(want);
    },
  );
  it.each(injection.map((l) => [l.label === 'injection' ? 'block' : 'allow', l.text] as const))(
    'injection corpus: %s %j',
    async (want, text) => {
      expect((await verdict('standard', text, true)).action).toBe(want);
    },
  );
});
