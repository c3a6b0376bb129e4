/**
 * @module guard/detectors/custom — operator-defined patterns from the policy, `{name, pattern,
 * flags?}`, compiled once at policy load. A pattern that could backtrack catastrophically is
 * refused: backreferences, lookbehind, nested quantifiers (star height > 1, via `safe-regex2`)
 * and repeated groups containing an alternation (`(a|aa)*`, which star height misses).
 */
import safeRegex from 'safe-regex2';
import { GatewayError } from '../../errors.js';
import { isBuiltinFindingType, type Detector, type Finding } from '../types.js';

/** One operator-defined pattern as written in the policy. */
export interface CustomPattern {
  readonly name: string;
  readonly pattern: string;
  /** Any of `i`, `m`, `s`, `u`; `g` is always added. */
  readonly flags?: string | undefined;
  /** Longest match to hold back while streaming (default 256). */
  readonly maxSpan?: number | undefined;
}

/** An operator-defined pattern was refused; the message names it and the reason. */
export class UnsafePatternError extends GatewayError {
  readonly patternName: string;
  constructor(name: string, reason: string) {
    super('POLICY_INVALID', `guard pattern "${name}": ${reason}`, 500);
    this.patternName = name;
  }
}

const NAME = /^[A-Z][A-Z0-9_]{0,47}$/;
const FLAGS = /^[imsu]{0,4}$/;

/** Why `pattern` is unsafe, or undefined when it is acceptable. */
export function unsafeReason(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not allowed';
  if (pattern.includes('(?<=') || pattern.includes('(?<!')) return 'lookbehind is not allowed';
  if (!safeRegex(pattern)) return 'nested quantifiers can backtrack catastrophically';
  if (repeatedAlternation(pattern)) return 'a repeated group with alternatives can backtrack';
  return undefined;
}

/** A group containing `|` followed by `*`, `+` or `{n,m}` (m > 1). */
function repeatedAlternation(p: string): boolean {
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === '|' && stack.length > 0) stack[stack.length - 1] = true;
    else if (c === ')') {
      const alt = stack.pop() ?? false;
      const q = p[i + 1];
      if (
        alt &&
        (q === '*' ||
          q === '+' ||
          (q === '{' && !/^\{\d+\}|^\{[01]\}|^\{0,1\}/.test(p.slice(i + 1))))
      )
        return true;
      if (alt && stack.length > 0) stack[stack.length - 1] = true;
    }
  }
  return false;
}

/** Compiles operator patterns into detectors; throws UnsafePatternError on the first bad one. */
export function compileCustomPatterns(patterns: readonly CustomPattern[]): Detector[] {
  const seen = new Set<string>();
  return patterns.map((p) => {
    if (!NAME.test(p.name)) throw new UnsafePatternError(p.name, 'name must match [A-Z][A-Z0-9_]*');
    if (isBuiltinFindingType(p.name))
      throw new UnsafePatternError(p.name, 'name clashes with a built-in finding type');
    if (seen.has(p.name)) throw new UnsafePatternError(p.name, 'name is defined twice');
    seen.add(p.name);
    const flags = p.flags ?? '';
    if (!FLAGS.test(flags) || new Set(flags).size !== flags.length)
      throw new UnsafePatternError(p.name, 'flags may only be i, m, s, u');
    let re: RegExp;
    try {
      re = new RegExp(p.pattern, `${flags}g`);
    } catch {
      throw new UnsafePatternError(p.name, 'not a valid regular expression');
    }
    const reason = unsafeReason(p.pattern);
    if (reason !== undefined) throw new UnsafePatternError(p.name, reason);
    if (re.test('')) throw new UnsafePatternError(p.name, 'pattern matches the empty string');
    const name = p.name;
    return {
      name: `custom:${name}`,
      types: [name],
      maxSpan: p.maxSpan ?? 256,
      detect(text: string): Finding[] {
        const out: Finding[] = [];
        for (const m of text.matchAll(re)) {
          if (m[0].length === 0) continue;
          out.push({
            type: name,
            start: m.index,
            end: m.index + m[0].length,
            guard: `custom:${name}`,
          });
        }
        return out;
      },
    };
  });
}
