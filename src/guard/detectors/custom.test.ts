import { describe, expect, it } from 'vitest';
import { compileCustomPatterns, UnsafePatternError } from './custom.js';

function refusal(pattern: string, name = 'EMPLOYEE_ID', flags?: string): string {
  try {
    compileCustomPatterns([flags === undefined ? { name, pattern } : { name, pattern, flags }]);
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafePatternError);
    expect((err as UnsafePatternError).code).toBe('POLICY_INVALID');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('operator-defined patterns', () => {
  it('compiles safe patterns into detectors of their own type', () => {
    const [d] = compileCustomPatterns([{ name: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', flags: 'i' }]);
    expect(d?.types).toEqual(['EMPLOYEE_ID']);
    const text = 'ids emp-123456 and EMP-654321';
    expect(d?.detect(text).map((f) => [f.type, text.slice(f.start, f.end), f.guard])).toEqual([
      ['EMPLOYEE_ID', 'emp-123456', 'custom:EMPLOYEE_ID'],
      ['EMPLOYEE_ID', 'EMP-654321', 'custom:EMPLOYEE_ID'],
    ]);
  });
  it.each([
    ['(a+)+$', 'guard pattern "EMPLOYEE_ID": nested quantifiers can backtrack catastrophically'],
    ['(x*)*y', 'guard pattern "EMPLOYEE_ID": nested quantifiers can backtrack catastrophically'],
    ['(a|aa)*b', 'guard pattern "EMPLOYEE_ID": a repeated group with alternatives can backtrack'],
    [
      '(?:\\d|\\w){2,}z',
      'guard pattern "EMPLOYEE_ID": a repeated group with alternatives can backtrack',
    ],
    ['(a)\\1', 'guard pattern "EMPLOYEE_ID": backreferences are not allowed'],
    ['(?<x>a)\\k<x>', 'guard pattern "EMPLOYEE_ID": backreferences are not allowed'],
    ['(?<=a)b', 'guard pattern "EMPLOYEE_ID": lookbehind is not allowed'],
    ['[', 'guard pattern "EMPLOYEE_ID": not a valid regular expression'],
    ['a*', 'guard pattern "EMPLOYEE_ID": pattern matches the empty string'],
  ])('refuses %s', (pattern, message) => {
    expect(refusal(pattern)).toBe(message);
  });
  it('refuses built-in names, bad names, duplicates and flags', () => {
    expect(refusal('x', 'EMAIL')).toBe(
      'guard pattern "EMAIL": name clashes with a built-in finding type',
    );
    expect(refusal('x', 'PROMPT_INJECTION')).toBe(
      'guard pattern "PROMPT_INJECTION": name clashes with a built-in finding type',
    );
    expect(refusal('x', 'lower')).toBe('guard pattern "lower": name must match [A-Z][A-Z0-9_]*');
    expect(refusal('x', 'A', 'g')).toBe('guard pattern "A": flags may only be i, m, s, u');
    expect(refusal('x', 'A', 'ii')).toBe('guard pattern "A": flags may only be i, m, s, u');
    expect(() =>
      compileCustomPatterns([
        { name: 'A', pattern: 'x' },
        { name: 'A', pattern: 'y' },
      ]),
    ).toThrow('guard pattern "A": name is defined twice');
  });
  it('allows an optional group with alternatives', () => {
    expect(compileCustomPatterns([{ name: 'A', pattern: '(?:foo|bar)?-\\d{3}' }])).toHaveLength(1);
  });
});
