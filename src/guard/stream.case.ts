/**
 * @module guard/stream.case — shared setup of the output-stream suites: real PhaseRules built
 * from a Scanner with one action per finding type, the one-shot reference result the stream
 * must reproduce, and a runner that feeds a stream a text in given chunks. Any PhaseRules (the
 * pipeline's included) can be checked against `oneShot` with `streamed`.
 */
import { Redactor } from './redact.js';
import { applies, type GuardAction, type PhaseRules, type RuledFinding } from './rules.js';
import type { Scanner } from './scan.js';
import { OutputStream, type OutputStreamOptions } from './stream.js';

const jwtHeader = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
const jwtBody = Buffer.from('{"sub":"u-42","name":"Ana"}').toString('base64url');
const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\nAT8wggE7AgEAAkEAq7BFUpkGp3+XQ==\n-----END PRIVATE KEY-----';

/** One value of each secret type the stream suites split, with its finding type. */
export const SECRETS: readonly (readonly [string, string])[] = [
  ['EMAIL', 'ana.lima+ops@mail.example.org'],
  ['CREDIT_CARD', '4111 1111 1111 1111'],
  ['JWT', `${jwtHeader}.${jwtBody}.c2lnbmF0dXJlLWJ5dGVz`],
  ['API_KEY', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  ['PRIVATE_KEY', PEM],
  ['IBAN', 'GB82 WEST 1234 5698 7654 32'],
  ['PHONE', '+44 20 7946 0958'],
];

/** Per-type actions for the test rules; types not listed get `fallback`. */
export interface TestActions {
  readonly actions?: Readonly<Record<string, GuardAction>>;
  readonly fallback?: GuardAction;
  /** Types whose guard is in dry-run. */
  readonly dryRun?: readonly string[];
  /** Declared span; default the scanner's (only lower it for texts whose findings fit). */
  readonly maxSpan?: number;
}

/** Output-phase rules over `scanner` that give every finding its type's action. */
export function rulesOf(scanner: Scanner, options: TestActions = {}): PhaseRules {
  const actions = new Map(Object.entries(options.actions ?? {}));
  const dry = new Set(options.dryRun ?? []);
  return {
    phase: 'output',
    maxSpan: options.maxSpan ?? scanner.maxSpan,
    inspect: (text) =>
      scanner.scan(text).map((f): RuledFinding => ({
        ...f,
        action: actions.get(f.type) ?? options.fallback ?? 'redact',
        dryRun: dry.has(f.type),
      })),
  };
}

/** What the stream must equal: the whole text inspected at once. */
export interface OneShot {
  readonly text: string;
  /** Findings up to and including the first applied block (a stream stops there). */
  readonly findings: readonly RuledFinding[];
  readonly blocked: RuledFinding | undefined;
}

/** Inspects `text` whole, redacts its applied redacts, cuts before its first applied block. */
export function oneShot(rules: PhaseRules, text: string, redactor: Redactor): OneShot {
  const all = rules.inspect(text);
  const blocked = all.find((f) => applies(f) && f.action === 'block');
  const cut = blocked?.start ?? text.length;
  const findings = all.filter((f) => f.start <= cut);
  const redacts = findings.filter((f) => applies(f) && f.action === 'redact' && f.end <= cut);
  return { text: redactor.redact(text.slice(0, cut), redacts), findings, blocked };
}

/** Feeds `chunks` to a fresh stream, then ends it. */
export function streamed(
  rules: PhaseRules,
  chunks: readonly string[],
  redactor: Redactor,
  options?: OutputStreamOptions,
): OneShot {
  const s = new OutputStream(rules, redactor, options);
  let text = '';
  for (const c of chunks) text += s.push(c);
  text += s.end();
  return { text, findings: [...s.findings()], blocked: s.blocked };
}

/** `text` cut at the given offsets (sorted, deduplicated, clamped). */
export function splitAt(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => Math.max(0, Math.min(text.length, c))))].sort(
    (a, b) => a - b,
  );
  const out: string[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  out.push(text.slice(prev));
  return out;
}

/** Two Redactors that have seen the same prompt, so their placeholders line up. */
export function twinRedactors(prompt: string, rules: PhaseRules): [Redactor, Redactor] {
  const a = new Redactor();
  const b = new Redactor();
  const found = rules.inspect(prompt).filter(applies);
  a.redact(prompt, found);
  b.redact(prompt, found);
  return [a, b];
}
