/**
 * The pipeline's own output rules (hold-back from guard/rules `streamHold`: the white-space-free
 * detectors hold only their trailing run, a PEM block only while it is open) streamed in random
 * chunks equal the one-shot result, for texts mixing every secret type with prose, and release
 * ordinary text after a short hold-back; a whole answer checked at once gives what one stream
 * push gives.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/parse.js';
import { Snapshot } from '../policy/snapshot.js';
import { Guards } from './pipeline.js';
import { oneShot, SECRETS, splitAt, streamed } from './stream.case.js';
import { Redactor } from './redact.js';
import { LOOKAHEAD, OutputStream } from './stream.js';

const snapshot = new Snapshot(
  parsePolicy(
    'guard:\n  patterns:\n    - { name: TICKET, pattern: "TCK-[0-9]{5}", maxSpan: 9 }\nroles:\n  r:\n    scopes: []\n    dataControls: { outputs: { PRIVATE_KEY: block } }\n',
    'p.yaml',
  ),
  'f'.repeat(64),
  'p.yaml',
);
const guards = new Guards({ enabled: true, budgetMs: 5000 });
const rules = guards.compiled(snapshot, snapshot.dataControls(['r']), 'm').output;
const corpus = readFileSync(
  new URL('../../test/fixtures/guard/pii-corpus.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { text: string }).text);

const piece = fc.oneof(
  fc.constantFrom(...SECRETS.map(([, v]) => v)),
  fc.constantFrom(...corpus),
  fc.constantFrom(' ', '\n', ', ', 'TCK-12345', 'and then ', 'x'),
  fc.string({ maxLength: 12 }),
);

describe('pipeline output rules while streaming', () => {
  it('hold back little on ordinary text', () => {
    expect(rules.maxSpan).toBeLessThan(100);
    const s = new OutputStream(rules, new Redactor());
    let out = '';
    for (const w of 'the quick brown fox jumps over the lazy dog '.repeat(10).split(/(?<= )/))
      out += s.push(w);
    expect(out.length).toBeGreaterThan(440 - rules.maxSpan - LOOKAHEAD - 10);
  });

  it('equal the one-shot result for any split of any mix of secrets and prose', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom(0, 32),
        (pieces, cuts, batch) => {
          const text = pieces.join('');
          const want = oneShot(rules, text, new Redactor());
          const got = streamed(
            rules,
            splitAt(
              text,
              cuts.map((c) => c % (text.length + 1)),
            ),
            new Redactor(),
            { batch },
          );
          expect(got.text).toBe(want.text);
          expect(got.blocked?.start).toBe(want.blocked?.start);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checkOutput (a text without findings returned at once) equals one stream push', () => {
    const compiled = guards.compiled(snapshot, snapshot.dataControls(['r']), 'm');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        const s = new OutputStream(rules, new Redactor(), { batch: Infinity });
        s.push(text);
        const want = s.end();
        const got = guards.checkOutput(compiled, text, new Redactor());
        expect(got.text).toBe(want);
        expect(got.findings).toEqual(s.findings());
        expect(got.blocked).toEqual(s.blocked);
      }),
      { numRuns: 500 },
    );
  });
});
