/**
 * @module guard/injection/match — finds phrase-rule matches in a skeleton: one Aho–Corasick pass
 * for every keyword of every rule, then a per-rule chain of groups in order with bounded gaps.
 * The same pass can find the rules written in ROT13: their keywords (ROT13 of the folded ones)
 * are in the automaton too, as rules of their own, so the skeleton is never rotated and scanned
 * twice. A text is folded at all only when a probe finds a keyword of some rule's first group.
 */
import { buildAutomaton, type HitSink } from './automaton.js';
import { PHRASE_RULES, type PhraseRule } from './phrases.js';
import {
  foldInto,
  foldString,
  keywordProbe,
  reachesAccept,
  type KeywordProbe,
  type SkeletonBuffer,
} from './skeleton.js';

/** A rule matched on `[start, end)` of the scanned skeleton string. */
export interface PhraseMatch {
  readonly rule: PhraseRule;
  readonly start: number;
  readonly end: number;
  /** Matched in ROT13: the skeleton holds the ROT13 of the rule's keywords here. */
  readonly rot13: boolean;
}

interface Ref {
  readonly rule: number;
  readonly group: number;
  readonly needsBoundary: boolean;
}

/** ROT13 of the skeleton letters a–z (as `rot13(skeleton text)`); other units unchanged. */
export function rot13Code(c: number): number {
  return c >= 0x61 && c <= 0x7a ? ((c - 0x61 + 13) % 26) + 0x61 : c;
}

const rot13 = (word: string): string =>
  String.fromCharCode(...Array.from(word, (ch) => rot13Code(ch.charCodeAt(0))));

const NEGATIONS = ['dont', 'donot', 'didnt', 'doesnt', 'never', 'not', 'notto'].map(foldString);
/** The negations as they read before a ROT13 match. */
const ROT13_NEGATIONS = NEGATIONS.map(rot13);
const KEEP_PER_GROUP = 4;
/** Matches reported per rule: enough to show every attack, bounded on adversarial floods. */
export const MAX_MATCHES_PER_RULE = 64;

/**
 * Rules `[0, rules.length)` as written and, with `withRot13`, the same rules again at
 * `rules.length + r` with every keyword in ROT13.
 */
function compile(rules: readonly PhraseRule[], withRot13: boolean) {
  const index = new Map<string, number>();
  const words: string[] = [];
  const refs: Ref[][] = [];
  const add = (word: string, ref: Ref): void => {
    if (word === '') return;
    let id = index.get(word);
    if (id === undefined) {
      id = words.length;
      index.set(word, id);
      words.push(word);
      refs.push([]);
    }
    refs[id]?.push(ref);
  };
  rules.forEach((rule, r) => {
    rule.groups.forEach((group, g) => {
      for (const raw of group.split('|')) {
        const needsBoundary = raw.endsWith('#');
        const word = foldString(needsBoundary ? raw.slice(0, -1) : raw);
        add(word, { rule: r, group: g, needsBoundary });
        if (withRot13) add(rot13(word), { rule: rules.length + r, group: g, needsBoundary });
      }
    });
  });
  const automaton = buildAutomaton(words);
  // Every match starts with a keyword of its rule's first group: a text without any of those
  // holds no match, whatever else it holds. The probe asks only that (a smaller automaton, and
  // everyday words that only later groups hold, such as "what" or "show", do not trip it).
  const first = words.filter((_, id) => refs[id]?.some((r) => r.group === 0) === true);
  const probe = keywordProbe(buildAutomaton(first).stepper);
  return { automaton, refs, rules: rules.length, probe };
}

type Compiled = ReturnType<typeof compile>;
/** Every prompt is scanned with the ROT13 rules: built at load, off the first request's path. */
const prompts = compile(PHRASE_RULES, true);
/**
 * The keyword probe of the prompt rules (ROT13 included): whether a keyword of some rule's
 * first group occurs, without which `foldAndMatch(text, buf, true)` finds nothing. A profile
 * made with it (`profileText(text, undefined, PROMPT_KEYWORDS)`) answers that in its own pass.
 */
export const PROMPT_KEYWORDS: KeywordProbe | undefined = prompts.probe;
/** Only decoded payloads are scanned without them: built on first use. */
let payloads: Compiled | undefined;
const compiledFor = (rot13: boolean): Compiled =>
  rot13 ? prompts : (payloads ??= compile(PHRASE_RULES, false));

interface Link {
  readonly chainStart: number;
  readonly end: number;
}

interface Found {
  readonly rule: PhraseRule;
  readonly start: number;
  end: number;
  readonly rot13: boolean;
}

/** The chains of one scan; created only once a keyword is hit, most texts hit none. */
class Chains implements HitSink {
  readonly found: Found[] = [];
  readonly #compiled: Compiled;
  readonly #codes: ArrayLike<number>;
  readonly #boundary: ArrayLike<number> | undefined;
  readonly #state = new Map<number, Link[][]>();
  readonly #lastFound = new Map<number, Found>();
  readonly #count = new Map<number, number>();

  constructor(
    compiled: Compiled,
    codes: ArrayLike<number>,
    boundary: ArrayLike<number> | undefined,
  ) {
    this.#compiled = compiled;
    this.#codes = codes;
    this.#boundary = boundary;
  }

  hit(id: number, start: number, end: number): void {
    const plain = this.#compiled.rules;
    for (const ref of this.#compiled.refs[id] ?? []) {
      if (ref.needsBoundary && this.#boundary !== undefined && this.#boundary[end - 1] !== 1)
        continue;
      const rot = ref.rule >= plain;
      const rule = PHRASE_RULES[rot ? ref.rule - plain : ref.rule];
      if (rule === undefined) continue;
      let links = this.#state.get(ref.rule);
      if (links === undefined) {
        links = rule.groups.map(() => []);
        this.#state.set(ref.rule, links);
      }
      let link: Link | undefined;
      if (ref.group === 0) link = { chainStart: start, end };
      else {
        for (const prev of links[ref.group - 1] ?? []) {
          if (prev.end <= start && start - prev.end <= rule.gap) {
            link = { chainStart: prev.chainStart, end };
            break;
          }
        }
      }
      if (link === undefined) continue;
      if (ref.group === rule.groups.length - 1) {
        const prior = this.#lastFound.get(ref.rule);
        if (prior !== undefined && prior.end > link.chainStart) {
          // "instruction" completes the rule before "instructions" does: keep the longer span.
          prior.end = Math.max(prior.end, link.end);
          continue;
        }
        const count = this.#count.get(ref.rule) ?? 0;
        if (count >= MAX_MATCHES_PER_RULE) continue;
        const negations = rot ? ROT13_NEGATIONS : NEGATIONS;
        if (rule.negatable === true && negated(this.#codes, link.chainStart, negations)) continue;
        this.#count.set(ref.rule, count + 1);
        const match = { rule, start: link.chainStart, end: link.end, rot13: rot };
        this.#lastFound.set(ref.rule, match);
        this.found.push(match);
        continue;
      }
      const slot = links[ref.group];
      if (slot === undefined) continue;
      slot.unshift(link);
      if (slot.length > KEEP_PER_GROUP) slot.pop();
    }
  }
}

/** Starts the chains at the first hit, so a text without any keyword allocates nothing. */
class LazyChains implements HitSink {
  chains: Chains | undefined;
  readonly #compiled: Compiled;
  readonly #codes: ArrayLike<number>;
  readonly #boundary: ArrayLike<number> | undefined;

  constructor(
    compiled: Compiled,
    codes: ArrayLike<number>,
    boundary: ArrayLike<number> | undefined,
  ) {
    this.#compiled = compiled;
    this.#codes = codes;
    this.#boundary = boundary;
  }

  hit(id: number, start: number, end: number): void {
    this.chains ??= new Chains(this.#compiled, this.#codes, this.#boundary);
    this.chains.hit(id, start, end);
  }
}

/**
 * Every rule match in skeleton code units `codes[0, length)`. `boundary`, when given, says where
 * words end (for keywords marked '#'); without it every position counts as a boundary. With
 * `rot13`, also every match of a rule written in ROT13 (`rot13: true`), as a scan of the
 * rotated codes would find it.
 */
export function matchCodes(
  codes: ArrayLike<number>,
  length: number,
  boundary?: ArrayLike<number>,
  rot13 = false,
): PhraseMatch[] {
  const compiled = compiledFor(rot13);
  const sink = new LazyChains(compiled, codes, boundary);
  compiled.automaton.scanCodes(codes, length, sink);
  return sink.chains?.found ?? [];
}

/**
 * Finds the rule matches of the skeleton of `source`: exactly `matchCodes(buf.codes, buf.length,
 * buf.boundary, rot13)` after `foldInto(source, buf)`. A text with a first-group keyword is
 * folded into `buf` and matched in the same pass; for one without, `buf` is left empty.
 * `keyword`, when known, is `reachesAccept(source, probe)` for these rules' probe (for the
 * prompt rules, what a profile made with PROMPT_KEYWORDS says): the probe is then not run.
 */
export function foldAndMatch(
  source: string,
  buf: SkeletonBuffer,
  rot13 = false,
  keyword?: boolean,
): PhraseMatch[] {
  const compiled = compiledFor(rot13);
  const stepper = compiled.automaton.stepper;
  if (stepper.table === undefined) {
    foldInto(source, buf);
    return matchCodes(buf.codes, buf.length, buf.boundary, rot13);
  }
  // Most texts hold no first-group keyword: one lean pass tells, and only the others are folded.
  const { probe } = compiled;
  if (
    probe !== undefined &&
    (keyword === false || (keyword === undefined && !reachesAccept(source, probe)))
  ) {
    buf.boundary.fill(0, 0, buf.length); // as foldInto leaves what lies past a skeleton
    buf.length = 0;
    buf.hits.length = 0;
    return [];
  }
  foldInto(source, buf, stepper);
  const hits = buf.hits;
  if (hits.length === 0) return [];
  // the keyword hits in scan order; chains need the whole skeleton's word boundaries: now known
  const sink = new LazyChains(compiled, buf.codes, buf.boundary);
  for (let h = 0; h < hits.length; h += 2) stepper.emit(hits[h] ?? 0, hits[h + 1] ?? 0, sink);
  return sink.chains?.found ?? [];
}

/** `matchCodes` over a skeleton string. */
export function matchPhrases(text: string, boundary?: ArrayLike<number>): PhraseMatch[] {
  const codes = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
  return matchCodes(codes, text.length, boundary);
}

/** Whether one of the (folded) `negations` ends right before `at`. */
function negated(codes: ArrayLike<number>, at: number, negations: readonly string[]): boolean {
  // as `text.slice(at - 6, at).endsWith(n)`: every negation is at most six letters
  return negations.some((n) => {
    if (n.length > Math.min(at, 6)) return false;
    for (let k = 0; k < n.length; k++)
      if (codes[at - n.length + k] !== n.charCodeAt(k)) return false;
    return true;
  });
}
