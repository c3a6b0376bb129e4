/**
 * @module guard/injection/match — finds phrase-rule matches in a skeleton: one Aho–Corasick pass
 * for every keyword of every rule, then a per-rule chain of groups in order with bounded gaps.
 */
import { buildAutomaton, type Hit } from './automaton.js';
import { PHRASE_RULES, type PhraseRule } from './phrases.js';
import { foldString } from './skeleton.js';

/** A rule matched on `[start, end)` of the scanned skeleton string. */
export interface PhraseMatch {
  readonly rule: PhraseRule;
  readonly start: number;
  readonly end: number;
}

interface Ref {
  readonly rule: number;
  readonly group: number;
  readonly needsBoundary: boolean;
}

const NEGATIONS = ['dont', 'donot', 'didnt', 'doesnt', 'never', 'not', 'notto'].map(foldString);
const KEEP_PER_GROUP = 4;
/** Matches reported per rule: enough to show every attack, bounded on adversarial floods. */
export const MAX_MATCHES_PER_RULE = 64;

function compile(rules: readonly PhraseRule[]) {
  const index = new Map<string, number>();
  const words: string[] = [];
  const refs: Ref[][] = [];
  rules.forEach((rule, r) => {
    rule.groups.forEach((group, g) => {
      for (const raw of group.split('|')) {
        const needsBoundary = raw.endsWith('#');
        const word = foldString(needsBoundary ? raw.slice(0, -1) : raw);
        if (word === '') continue;
        let id = index.get(word);
        if (id === undefined) {
          id = words.length;
          index.set(word, id);
          words.push(word);
          refs.push([]);
        }
        refs[id]?.push({ rule: r, group: g, needsBoundary });
      }
    });
  });
  return { automaton: buildAutomaton(words), refs };
}

const compiled = compile(PHRASE_RULES);

interface Link {
  readonly chainStart: number;
  readonly end: number;
}

/**
 * Every rule match in `text` (a skeleton string). `boundary`, when given, says where words end
 * (for keywords marked '#'); without it every position counts as a boundary.
 */
export function matchPhrases(text: string, boundary?: ArrayLike<number>): PhraseMatch[] {
  const rules = PHRASE_RULES;
  const state = new Map<number, Link[][]>();
  const lastFound = new Map<number, { rule: PhraseRule; start: number; end: number }>();
  const found: { rule: PhraseRule; start: number; end: number }[] = [];
  const count = new Map<number, number>();
  const onHit = (hit: Hit): void => {
    for (const ref of compiled.refs[hit.id] ?? []) {
      if (ref.needsBoundary && boundary !== undefined && boundary[hit.end - 1] !== 1) continue;
      const rule = rules[ref.rule];
      if (rule === undefined) continue;
      let links = state.get(ref.rule);
      if (links === undefined) {
        links = rule.groups.map(() => []);
        state.set(ref.rule, links);
      }
      let link: Link | undefined;
      if (ref.group === 0) link = { chainStart: hit.start, end: hit.end };
      else {
        for (const prev of links[ref.group - 1] ?? []) {
          if (prev.end <= hit.start && hit.start - prev.end <= rule.gap) {
            link = { chainStart: prev.chainStart, end: hit.end };
            break;
          }
        }
      }
      if (link === undefined) continue;
      if (ref.group === rule.groups.length - 1) {
        const prior = lastFound.get(ref.rule);
        if (prior !== undefined && prior.end > link.chainStart) {
          // "instruction" completes the rule before "instructions" does: keep the longer span.
          prior.end = Math.max(prior.end, link.end);
          continue;
        }
        if ((count.get(ref.rule) ?? 0) >= MAX_MATCHES_PER_RULE) continue;
        if (rule.negatable === true && negated(text, link.chainStart)) continue;
        count.set(ref.rule, (count.get(ref.rule) ?? 0) + 1);
        const match = { rule, start: link.chainStart, end: link.end };
        lastFound.set(ref.rule, match);
        found.push(match);
        continue;
      }
      const slot = links[ref.group];
      if (slot === undefined) continue;
      slot.unshift(link);
      if (slot.length > KEEP_PER_GROUP) slot.pop();
    }
  };
  compiled.automaton.scan(text, onHit);
  return found;
}

function negated(text: string, at: number): boolean {
  const before = text.slice(Math.max(0, at - 6), at);
  return NEGATIONS.some((n) => before.endsWith(n));
}
