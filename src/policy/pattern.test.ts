import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch, isResourceId, PatternSet, patternProblem } from './pattern.js';

/** The reference meaning of a glob: the same pattern as an anchored regular expression. */
function reference(pattern: string, id: string): boolean {
  const source = pattern.replace(/[.:-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(id);
}

const ID_CHARS = 'ab.:-_9'.split('');
const id = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 12 });
const pattern = fc.string({
  unit: fc.constantFrom(...ID_CHARS, '*', '?'),
  minLength: 1,
  maxLength: 10,
});

describe('resource patterns', () => {
  it.each([
    ['use-lite', 'use-lite', true],
    ['use-lite', 'use-lite2', false],
    ['chat-*', 'chat-large', true],
    ['chat-*', 'chat-', true],
    ['chat-*', 'xchat-large', false],
    ['*-lite', 'use-lite', true],
    ['us?-lite', 'use-lite', true],
    ['us?-lite', 'us-lite', false],
    ['*', 'anything.at:all', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
  ])('%s matches %s: %s', (p, target, expected) => {
    expect(globMatch(p, target)).toBe(expected);
    expect(new PatternSet([p]).matches(target)).toBe(expected);
  });

  it('means exactly what the anchored regular expression means', () => {
    fc.assert(
      fc.property(pattern, id, (p, target) => globMatch(p, target) === reference(p, target)),
      { numRuns: 2000 },
    );
  });

  it('never matches an id outside the charset, not even with *', () => {
    const set = new PatternSet(['*']);
    for (const bad of ['', 'a/b', 'a b', '../x', 'é', 'a'.repeat(129), 'x\n']) {
      expect(set.matches(bad)).toBe(false);
      expect(isResourceId(bad)).toBe(false);
    }
  });

  it('stays fast on a pattern built to make backtracking explode', () => {
    // a*a*a*…b against aaaa…: exponential for a naive backtracker, quadratic here.
    const p = `${'a*'.repeat(60)}b`;
    expect(patternProblem(p)).toBeUndefined();
    expect(globMatch(p, 'a'.repeat(128))).toBe(false);
  });

  it.each([
    ['', 'empty pattern'],
    ['a'.repeat(129), 'pattern longer than 128 characters'],
    [
      'chat/*',
      'pattern "chat/*" has the character "/"; use letters, digits, . _ : - and the wildcards * ?',
    ],
    [
      '[abc]',
      'pattern "[abc]" has the character "["; use letters, digits, . _ : - and the wildcards * ?',
    ],
    [
      'a b',
      'pattern "a b" has the character " "; use letters, digits, . _ : - and the wildcards * ?',
    ],
  ])('refuses the pattern %j', (p, problem) => {
    expect(patternProblem(p)).toBe(problem);
  });
});
