/**
 * The prompt and output digests as the README tells a user to recompute them: SHA-256 over the
 * RFC 8785 text of what was sent (written out by hand here), over the UTF-8 of generated text, and
 * over streamed text fed delta by delta, whatever the split.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  embeddingsOutputSha256,
  moderationsOutputSha256,
  outputSha256,
  promptInput,
  promptSha256,
  sha256Hex,
  textOutputSha256,
  TextOutputHasher,
} from './digests.js';

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('prompt_sha256', () => {
  it('is SHA-256 of the RFC 8785 text of the input as sent, per endpoint', () => {
    const messages = [{ role: 'user', content: 'Grüße, "world"', name: undefined }];
    // Members sorted, no whitespace, non-ASCII as UTF-8, quotes escaped.
    expect(promptSha256(messages)).toBe(sha('[{"content":"Grüße, \\"world\\"","role":"user"}]'));
    expect(promptSha256('Once upon a time')).toBe(sha('"Once upon a time"'));
    expect(promptSha256(['a', 'b'])).toBe(sha('["a","b"]'));
    expect(promptSha256([[1, 2.5, 1e21]])).toBe(sha('[[1,2.5,1e+21]]'));
  });

  it('covers the member each endpoint takes its input from', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      prompt: 'p',
      input: 'i',
    };
    expect(promptInput('chat', body)).toBe(body.messages);
    expect(promptInput('completions', body)).toBe('p');
    expect(promptInput('embeddings', body)).toBe('i');
    expect(promptInput('moderations', body)).toBe('i');
    expect(promptInput('chat', { input: 'x' })).toBeUndefined();
  });

  it('differs between a string and the same text in an array', () => {
    expect(promptSha256('x')).not.toBe(promptSha256(['x']));
  });
});

describe('output_sha256', () => {
  it('of text is SHA-256 of its UTF-8, a lone surrogate as U+FFFD', () => {
    expect(textOutputSha256('naïve ☃ 🎉')).toBe(sha(Buffer.from('naïve ☃ 🎉', 'utf8')));
    expect(textOutputSha256('a\ud800b')).toBe(sha(Buffer.from('61efbfbd62', 'hex')));
    expect(textOutputSha256('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(outputSha256('text')).toBe(textOutputSha256('text'));
  });

  it('of embeddings is SHA-256 of the canonical array of vectors, float32 values as sent', () => {
    const v = new Float32Array([0.1, -2, 3.5]);
    // JSON.stringify writes a float32 widened to a double exactly as the response body does.
    const sent = JSON.stringify({ data: [{ embedding: Array.from(v) }] });
    const numbers = (JSON.parse(sent) as { data: { embedding: number[] }[] }).data.map(
      (d) => d.embedding,
    );
    const expected = sha(`[${numbers.map((n) => `[${n.join(',')}]`).join(',')}]`);
    expect(embeddingsOutputSha256([v])).toBe(expected);
    expect(embeddingsOutputSha256(numbers)).toBe(expected);
    expect(outputSha256(numbers)).toBe(expected);
  });

  it('of moderations is SHA-256 of the canonical results', () => {
    const results = [{ flagged: false, categories: { b: false, a: true }, category_scores: {} }];
    expect(moderationsOutputSha256(results)).toBe(
      sha('[{"categories":{"a":true,"b":false},"category_scores":{},"flagged":false}]'),
    );
  });

  it('of a stream equals that of the whole text, however it is split', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (text, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const h = new TextOutputHasher();
          let last = 0;
          for (const p of [...points, text.length]) {
            h.update(text.slice(last, p));
            last = p;
          }
          expect(h.digest()).toBe(textOutputSha256(text));
        },
      ),
    );
  });

  it('keeps a surrogate pair split across deltas as one character', () => {
    const h = new TextOutputHasher().update('party \ud83c').update('\udf89!');
    expect(h.digest()).toBe(sha256Hex('party 🎉!'));
    expect(new TextOutputHasher().update('\ud83c').digest()).toBe(textOutputSha256('\ud83c'));
  });
});
