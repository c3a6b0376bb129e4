import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinDetectors } from './detectors/index.js';
import { Redactor } from './redact.js';
import type { PhaseRules } from './rules.js';
import { createScanner, GuardUnavailableError } from './scan.js';
import { oneShot, rulesOf, SECRETS, splitAt, streamed, twinRedactors } from './stream.case.js';
import { LOOKAHEAD, LOOKBEHIND, OutputStream } from './stream.js';
import type { Detector } from './types.js';

const scanner = createScanner();
// Every finding in these short texts is far below 512 code units, so 512 is a true bound for
// them and the stream actually streams (the built-in bound, 40 KB for a JWT, would hold all).
const narrow = rulesOf(scanner, { maxSpan: 512 });
const PROMPT = 'my card is 4111 1111 1111 1111, mail me at ana.lima+ops@mail.example.org';

function textAround(value: string, pad: number): string {
  const words = 'the quick brown fox, 12 jumps over a lazy dog; ';
  const fill = words.repeat(Math.ceil(pad / words.length)).slice(0, pad);
  return `${fill}Here: ${value}\n${fill}`;
}

describe('OutputStream — a secret split at every chunk boundary', () => {
  for (const [type, value] of SECRETS) {
    it(`${type}: every 2-way split equals the one-shot result`, () => {
      const text = textAround(value, 600);
      const [r1] = twinRedactors(PROMPT, narrow);
      const want = oneShot(narrow, text, r1);
      expect(want.findings.map((f) => [f.type, text.slice(f.start, f.end)])).toEqual([
        [type, value],
      ]);
      expect(want.text).not.toContain(value);
      for (let k = 0; k <= text.length; k++) {
        const [, r2] = twinRedactors(PROMPT, narrow);
        const got = streamed(narrow, splitAt(text, [k]), r2);
        if (got.text !== want.text) expect({ k, got: got.text }).toEqual({ k, got: want.text });
        expect(got.findings).toEqual(want.findings);
      }
    });
  }

  it('the same value gets the prompt placeholder, also when it arrives one character at a time', () => {
    const r = new Redactor();
    const prompt = narrow.inspect(PROMPT);
    expect(r.redact(PROMPT, prompt)).toBe('my card is [CREDIT_CARD_1], mail me at [EMAIL_1]');
    const text = textAround('ana.lima+ops@mail.example.org and bo@example.net', 700);
    const got = streamed(narrow, Array.from(text), r);
    expect(got.text).toContain('Here: [EMAIL_1] and [EMAIL_2]\n');
  });

  it('with the genuine built-in bound, splits around the emit limit equal the one-shot result', () => {
    const rules = rulesOf(scanner);
    const hold = rules.maxSpan + LOOKAHEAD;
    for (const [, value] of SECRETS.filter(([t]) => t !== 'JWT' && t !== 'PRIVATE_KEY')) {
      const text = textAround(value, 400) + 'z'.repeat(hold);
      const at = text.indexOf(value);
      const want = oneShot(rules, text, new Redactor());
      // first push settles up to k - hold: sweep that limit across the value
      for (let k = hold + at - 3; k <= hold + at + value.length + 3; k++) {
        const got = streamed(rules, splitAt(text, [k]), new Redactor());
        expect(got.text).toBe(want.text);
      }
    }
  });
});

describe('OutputStream — the labelled PII corpus as one long output', () => {
  const corpus = readFileSync(
    new URL('../../test/fixtures/guard/pii-corpus.jsonl', import.meta.url),
    'utf8',
  )
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text)
    .join('\n');

  it('streamed in token-sized and large chunks with the built-in rules, equals the one-shot result', () => {
    const rules = rulesOf(scanner);
    expect(corpus.length).toBeGreaterThan(rules.maxSpan + LOOKAHEAD); // it really streams
    const want = oneShot(rules, corpus, new Redactor());
    expect(want.findings.length).toBeGreaterThan(400);
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const [batch, most] of [
      [256, 8],
      [0, 400],
    ] as const) {
      const cuts: number[] = [];
      for (let i = 0; i < corpus.length; i += 1 + Math.floor(rnd() * most)) cuts.push(i);
      const got = streamed(rules, splitAt(corpus, cuts), new Redactor(), { batch });
      expect(got.text === want.text).toBe(true);
      expect(got.findings).toEqual(want.findings);
    }
  });
});

describe('OutputStream — left context', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  it('finds an AWS secret whose keyword (120 characters earlier) was already emitted', () => {
    const text = textAround(`aws_secret_access_key = ${'.'.repeat(100)} ${secret}`, 600);
    const want = oneShot(narrow, text, new Redactor());
    expect(want.findings.map((f) => text.slice(f.start, f.end))).toEqual([secret]);
    for (let k = 0; k <= text.length; k++) {
      const got = streamed(narrow, splitAt(text, [k]), new Redactor());
      if (got.text !== want.text) expect({ k, got: got.text }).toEqual({ k, got: want.text });
    }
  });

  it('sees no fake word boundary where the pending text starts', () => {
    const key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    const text = textAround(`token${key} and 994111111111111111`, 600);
    expect(narrow.inspect(text)).toEqual([]);
    for (let k = 0; k <= text.length; k++) {
      const got = streamed(narrow, splitAt(text, [k]), new Redactor());
      if (got.text !== text) expect({ k, got: got.text }).toEqual({ k, got: text });
    }
  });
});

describe('OutputStream — holding back and emitting', () => {
  it('holds back exactly maxSpan + LOOKAHEAD characters, and no more', () => {
    const rules = rulesOf(scanner, { maxSpan: 100 });
    const s = new OutputStream(rules, new Redactor());
    let out = '';
    const text = 'lorem ipsum dolor sit amet '.repeat(40);
    for (const c of text) out += s.push(c);
    expect(out).toBe(text.slice(0, text.length - 100 - LOOKAHEAD));
    expect(out + s.end()).toBe(text);
    expect(s.end()).toBe('');
    expect(s.push('more')).toBe('');
  });

  it('with a batch, re-scans only once that much more is pending', () => {
    const base = rulesOf(scanner, { maxSpan: 100 });
    let scans = 0;
    const rules: PhaseRules = { ...base, inspect: (t) => (scans++, base.inspect(t)) };
    const s = new OutputStream(rules, new Redactor(), { batch: 50 });
    const text = 'lorem ipsum dolor sit amet '.repeat(100);
    let out = '';
    let most = 0;
    for (let i = 0; i < text.length; i++) {
      out += s.push(text.charAt(i));
      most = Math.max(most, i + 1 - out.length);
    }
    expect(most).toBe(100 + LOOKAHEAD + 50);
    expect(scans).toBe(Math.ceil((text.length - 100 - LOOKAHEAD - 50) / 51));
    expect(out + s.end()).toBe(text);
  });

  it('emits a finding that straddles the emit limit whole, redacted', () => {
    const rules = rulesOf(scanner, { maxSpan: 40 });
    const s = new OutputStream(rules, new Redactor());
    const head = 'x '.repeat(30) + 'card 4111 1111 1111 1111 ';
    // the limit after this push (length - 104) falls inside the card number
    const pad = ' '.repeat(40 + LOOKAHEAD - 10);
    const out = s.push(head + pad);
    expect(out).toBe('x '.repeat(30) + 'card [CREDIT_CARD_1]');
    expect(s.findings().map((f) => f.type)).toEqual(['CREDIT_CARD']);
  });

  it('never splits a surrogate pair across two sends', () => {
    const rules = rulesOf(scanner, { maxSpan: 10 });
    const text = '😀'.repeat(200);
    for (let k = 0; k < 40; k++) {
      const s = new OutputStream(rules, new Redactor());
      const parts = [...splitAt(text, [k, 2 * k + 1, 150]).map((c) => s.push(c)), s.end()];
      expect(parts.join('')).toBe(text);
      for (const p of parts) expect(p).toMatch(/^(?:\p{Extended_Pictographic})*$/u);
    }
  });

  it('hands inspect a window of at most context + hold + chunk: work per chunk is bounded', () => {
    const base = rulesOf(scanner, { maxSpan: 300 });
    const sizes: number[] = [];
    const rules: PhaseRules = { ...base, inspect: (t) => (sizes.push(t.length), base.inspect(t)) };
    const s = new OutputStream(rules, new Redactor());
    const chunk = 'mail ana@example.com or call +44 20 7946 0958. ';
    for (let i = 0; i < 2000; i++) s.push(chunk);
    s.end();
    expect(sizes.length).toBeGreaterThan(1900);
    const bound = 300 + LOOKBEHIND + 300 + LOOKAHEAD + chunk.length;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(bound);
  });
});

describe('OutputStream — block, dry-run, allow, failure', () => {
  const text = textAround('card 4111 1111 1111 1111 then ana@example.com and more', 700);

  it('cuts just before the first applied block; later pushes and end return nothing', () => {
    const rules = rulesOf(scanner, { maxSpan: 512, actions: { EMAIL: 'block' } });
    const s = new OutputStream(rules, new Redactor());
    let out = '';
    for (const c of splitAt(text, [100, 900, 905, 1300])) out += s.push(c);
    out += s.end();
    const at = text.indexOf('ana@example.com');
    expect(out).toBe(text.slice(0, at).replace('4111 1111 1111 1111', '[CREDIT_CARD_1]'));
    expect(s.blocked).toMatchObject({ type: 'EMAIL', start: at, end: at + 15, action: 'block' });
    expect(s.push('tail')).toBe('');
    expect(s.end()).toBe('');
    expect(out).toBe(oneShot(rules, text, new Redactor()).text);
  });

  it('records dry-run and allowed findings without applying them', () => {
    const rules = rulesOf(scanner, {
      maxSpan: 512,
      actions: { EMAIL: 'block', CREDIT_CARD: 'allow' },
      dryRun: ['EMAIL'],
    });
    const got = streamed(rules, splitAt(text, [333, 777]), new Redactor());
    expect(got.text).toBe(text);
    expect(got.blocked).toBeUndefined();
    expect(got.findings.map((f) => [f.type, f.action, f.dryRun])).toEqual([
      ['CREDIT_CARD', 'allow', false],
      ['EMAIL', 'block', true],
    ]);
  });

  it('propagates an error thrown by inspect (the caller fails closed)', () => {
    const failing: PhaseRules = {
      phase: 'output',
      maxSpan: 10,
      inspect: () => {
        throw new GuardUnavailableError('email', 'error');
      },
    };
    const s = new OutputStream(failing, new Redactor());
    expect(s.push('short')).toBe('');
    expect(() => s.push('x'.repeat(200))).toThrow(GuardUnavailableError);
    expect(() => new OutputStream(failing, new Redactor()).end()).not.toThrow();
    const t = new OutputStream(failing, new Redactor());
    t.push('abc');
    expect(() => t.end()).toThrow(GuardUnavailableError);
  });
});

describe('OutputStream — rules that break their contract', () => {
  it('an unsorted answer with nested findings redacts as the sound one does', () => {
    const base = rulesOf(scanner, { maxSpan: 64 });
    const rules: PhaseRules = {
      ...base,
      inspect: (t) => {
        const fs = base.inspect(t);
        const nested = fs.map((f) => ({ ...f, start: f.start + 1, end: f.end - 1 }));
        return [...fs, ...nested].reverse();
      },
    };
    const text = textAround('ana@example.com, 4111 1111 1111 1111, +44 20 7946 0958', 300);
    for (const k of [0, 50, 300, 320, 340, 360]) {
      const got = streamed(rules, splitAt(text, [k, k + 7]), new Redactor()).text;
      expect(got).toBe(oneShot(base, text, new Redactor()).text);
    }
  });
});

describe('OutputStream — detectors that break the locality assumption', () => {
  // Reports every run of "#" as one finding, however long: its declared span (4) is false.
  const hashes: Detector = {
    name: 'hashes',
    types: ['HASHES'],
    maxSpan: 4,
    detect: (t) =>
      [...t.matchAll(/#+/g)].map((m) => ({
        type: 'HASHES',
        start: m.index,
        end: m.index + m[0].length,
        guard: 'hashes',
      })),
  };

  it('still redacts the rest of a finding that reaches back into emitted text', () => {
    const rules = rulesOf(createScanner([hashes]));
    const s = new OutputStream(rules, new Redactor());
    const out = s.push('a'.repeat(100) + '#'.repeat(200)) + s.push('b'.repeat(100)) + s.end();
    expect(out).not.toContain('#'.repeat(5));
    expect(out.endsWith('b'.repeat(100))).toBe(true);
  });

  it('blocks at the emit boundary when a block finding reaches back', () => {
    const rules = rulesOf(createScanner([hashes]), { fallback: 'block' });
    const s = new OutputStream(rules, new Redactor());
    const out = s.push('a'.repeat(100) + '#'.repeat(200)) + s.push('b'.repeat(100)) + s.end();
    expect(s.blocked?.type).toBe('HASHES');
    expect(out).not.toContain('#'.repeat(5));
    expect(out).not.toContain('b');
  });

  it('the built-in detectors are listed with their spans (the bound the stream holds)', () => {
    expect(Object.fromEntries(builtinDetectors().map((d) => [d.name, d.maxSpan]))).toMatchObject({
      'private-key': 16384,
      'api-key': 1100,
    });
  });
});
