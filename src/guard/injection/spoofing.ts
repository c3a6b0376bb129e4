/**
 * @module guard/injection/spoofing — role and delimiter spoofing: chat-template tokens, fake
 * system blocks and headers, fake assistant turns and JSON role injection inside user text.
 * Every pattern is a bounded sequence of literals and character classes (no nested
 * quantifiers), so the regex engine runs in linear time.
 */
import { marksOf, mayHoldMarks, type TextProfile } from '../profile.js';

/** One spoofing signal on `[start, end)` of the scanned text. */
export interface SpoofSignal {
  readonly kind: 'template-token' | 'system-block' | 'role-header' | 'role-turn' | 'json-role';
  readonly start: number;
  readonly end: number;
  readonly weight: number;
}

interface Pattern {
  readonly kind: SpoofSignal['kind'];
  readonly re: RegExp;
  readonly weight: number;
  /**
   * Every match holds one of these characters (a literal outside any optional part; none has a
   * case variant, and `i` without `u` never folds a non-ASCII character onto ASCII), so a text
   * with none of them is not searched.
   */
  readonly needs: string;
}

const PATTERNS: readonly Pattern[] = [
  {
    kind: 'template-token',
    weight: 0.8,
    needs: '<[',
    re: /<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id|begin_of_text|end_of_text|channel|message|developer)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:start_of_turn|end_of_turn)>|<\/?s>\s{0,4}\[INST\]|\[\/?(?:SYSTEM_PROMPT|AVAILABLE_TOOLS)\]/gi,
  },
  {
    kind: 'system-block',
    weight: 0.6,
    needs: '<',
    re: /<[ \t]{0,3}\/?[ \t]{0,3}(?:system|sys|system_prompt|system-prompt|systemprompt|developer|developer_message|admin|instructions?|im_system)[ \t]{0,3}>/gi,
  },
  {
    kind: 'system-block',
    weight: 0.35,
    needs: '[(',
    re: /\[\[?[ \t]{0,3}(?:system|sys|admin|developer|operator|root)(?:[ \t_-]{1,3}(?:message|prompt|override|note|instruction|instructions|command))?[ \t]{0,3}\]\]?|\((?:system|developer|admin)[ \t]{1,3}(?:message|prompt|override)\)/gi,
  },
  {
    kind: 'role-header',
    weight: 0.35,
    needs: '#=*',
    re: /^[ \t]{0,8}(?:#{1,6}|={2,6}|\*{2})[ \t]{0,4}(?:system|assistant|developer|admin)(?:[ \t]{1,4}(?:prompt|message|instructions?|override|note))?[ \t]{0,4}:?[ \t]{0,4}(?:\*{2}|={2,6})?[ \t]{0,4}:?$/gim,
  },
  {
    kind: 'role-turn',
    weight: 0.3,
    needs: ':',
    re: /^[ \t]{0,8}(?:system|assistant|developer|ai|chatgpt|gpt|claude|bot)[ \t]{0,4}(?:message|prompt)?[ \t]{0,4}:[ \t]{0,8}\S/gim,
  },
  {
    kind: 'json-role',
    weight: 0.65,
    needs: ':',
    re: /["'`]role["'`][ \t]{0,4}:[ \t]{0,4}["'`](?:system|developer|assistant)["'`]/gi,
  },
];

/** Each pattern's `needs` as profile marks. */
const NEEDS = PATTERNS.map((p) => marksOf(p.needs));

/** Every spoofing signal in `text`; `profile`, when given, is `profileText(text)`. */
export function findSpoofing(text: string, profile?: TextProfile): SpoofSignal[] {
  const out: SpoofSignal[] = [];
  for (let k = 0; k < PATTERNS.length; k++) {
    const pattern = PATTERNS[k];
    if (pattern === undefined) continue;
    const { kind, re, weight, needs } = pattern;
    const held =
      profile === undefined ? holdsAny(text, needs) : mayHoldMarks(profile, NEEDS[k] ?? -1);
    if (!held) continue;
    // exec on the shared regex (reset first) rather than matchAll, which clones it per call
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      out.push({ kind, start: m.index, end: m.index + m[0].length, weight });
    }
  }
  return out;
}

function holdsAny(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (text.includes(chars.charAt(i))) return true;
  return false;
}
