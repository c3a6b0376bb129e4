import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scan } from '../src/guard/scan.js';

interface Line {
  id: number;
  lang: string;
  context: string;
  text: string;
  findings: { type: string; start: number; end: number }[];
}
const lines = readFileSync(new URL('./fixtures/guard/pii-corpus.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Line);

describe('PII corpus', () => {
  it('has at least 400 labelled lines in several languages and contexts, with hard negatives', () => {
    expect(lines.length).toBeGreaterThanOrEqual(400);
    expect(new Set(lines.map((l) => l.lang)).size).toBeGreaterThanOrEqual(8);
    expect(new Set(lines.map((l) => l.context))).toEqual(
      new Set(['chat', 'log', 'csv', 'json', 'code', 'email']),
    );
    expect(lines.filter((l) => l.findings.length === 0).length).toBeGreaterThanOrEqual(50);
  });
  it.each(lines.map((l) => [l.id, l.lang, l.context, l] as const))(
    'line %i (%s, %s) is detected exactly',
    (_id, _l, _c, line) => {
      const got = scan(line.text).map((f) => ({ type: f.type, start: f.start, end: f.end }));
      expect(got).toEqual(line.findings);
    },
  );
});
