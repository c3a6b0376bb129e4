/**
 * @module test/guard-injection-corpus.test — every labelled line of the injection corpus: each
 * must-block line scores at or above the default threshold, each must-allow line below it.
 * The recall and false-positive figures belong to `npm run bench:guard-injection`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INJECTION_THRESHOLD, scanInjection } from '../src/guard/injection/index.js';

interface Line {
  readonly text: string;
  readonly label: 'injection' | 'benign';
  readonly lang: string;
  readonly context: string;
}

const lines = readFileSync(
  new URL('fixtures/guard/injection-corpus.jsonl', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Line);

describe('injection corpus', () => {
  it('holds at least 400 labelled lines in several languages, with both labels', () => {
    expect(lines.length).toBeGreaterThanOrEqual(400);
    expect(new Set(lines.map((l) => l.lang)).size).toBeGreaterThanOrEqual(15);
    expect(lines.filter((l) => l.label === 'benign').length).toBeGreaterThanOrEqual(150);
    expect(lines.filter((l) => l.label === 'injection').length).toBeGreaterThanOrEqual(150);
  });

  it.each(
    lines.filter((l) => l.label === 'injection').map((l) => [l.lang, l.context, l.text] as const),
  )('blocks [%s/%s] %j', (_lang, _ctx, text) => {
    expect(scanInjection(text).score).toBeGreaterThanOrEqual(DEFAULT_INJECTION_THRESHOLD);
  });

  it.each(
    lines.filter((l) => l.label === 'benign').map((l) => [l.lang, l.context, l.text] as const),
  )('allows [%s/%s] %j', (_lang, _ctx, text) => {
    expect(scanInjection(text).score).toBeLessThan(DEFAULT_INJECTION_THRESHOLD);
  });
});
