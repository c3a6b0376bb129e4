/**
 * @module guard/scan — runs detectors over a text and returns non-overlapping findings sorted by
 * start.
 *
 * Overlap rule: when findings overlap, the longest wins and keeps its span; what it leaves of a
 * shorter one uncovered stays a finding of that type (so no part of a detected value goes
 * unredacted); on equal length the detector listed first wins (built-in order: PRIVATE_KEY, JWT, API_KEY, CREDIT_CARD, IBAN, US_SSN, EMAIL,
 * IP_ADDRESS, PHONE, then operator patterns). So a key block swallows the e-mail in its comment,
 * and an e-mail swallows the digits of its local part.
 */
import { GatewayError } from '../errors.js';
import type { Detector, Finding, FindingType } from './types.js';
import { builtinDetectors } from './detectors/index.js';
import { gateOf, profileText, type TextProfile } from './profile.js';

/** A guard failed or ran past its time budget: the request is refused (fail closed, 503). */
export class GuardUnavailableError extends GatewayError {
  /** The message names the guard and why, nothing of the text: safe to show. */
  override readonly expose = true;
  readonly guard: string;
  readonly reason: 'budget' | 'error';
  constructor(guard: string, reason: 'budget' | 'error', options?: ErrorOptions) {
    super(
      'GUARD_UNAVAILABLE',
      reason === 'budget' ? `guard ${guard} exceeded its time budget` : `guard ${guard} failed`,
      503,
      options,
    );
    this.guard = guard;
    this.reason = reason;
  }
}

/** Options of one scan. */
export interface ScanOptions {
  /** Only these types are reported (default: every type the detectors know). */
  readonly types?: ReadonlySet<FindingType>;
  /**
   * Refuse with GuardUnavailableError once this many ms have passed (checked after each
   * detector that runs on the text, and at the end).
   */
  readonly budgetMs?: number;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
  /**
   * `profileText(text)` when the caller has it already (the prompt phase profiles a text once
   * for the scan and the injection heuristics); by default the scan profiles the text itself.
   */
  readonly profile?: TextProfile;
}

/** A fixed set of detectors. */
export interface Scanner {
  readonly detectors: readonly Detector[];
  /** Longest span any detector can match: what a stream must hold back. */
  readonly maxSpan: number;
  scan(text: string, options?: ScanOptions): Finding[];
}

/** A finding with the priority of its detector (its index in the scanner's list). */
interface Ranked {
  readonly f: Finding;
  readonly rank: number;
}

const NO_OPTIONS: ScanOptions = {};
const clock = (): number => performance.now();

/** Builds a scanner over `detectors` (default: the built-in ones), in priority order. */
export function createScanner(detectors: readonly Detector[] = builtinDetectors()): Scanner {
  const list = [...detectors];
  const maxSpan = list.reduce((m, d) => Math.max(m, d.maxSpan), 0);
  // Built-in detectors come with a gate: one profile pass lets most of them skip the text.
  const gates = list.map(gateOf);
  const profiled = gates.some((g) => g !== undefined);
  // Once every gate is open (long texts with some of everything) the rest need not be counted.
  const allOpen = (p: TextProfile): boolean => gates.every((g) => g === undefined || g(p));
  return {
    detectors: list,
    maxSpan,
    scan(text: string, options: ScanOptions = NO_OPTIONS): Finding[] {
      const { types, budgetMs } = options;
      const now = options.now ?? clock;
      const t0 = budgetMs === undefined ? 0 : now();
      const profile = profiled ? (options.profile ?? profileText(text, allOpen)) : undefined;
      let all: Ranked[] | undefined;
      let timed = -1; // the rank after which the clock was last read
      for (let rank = 0; rank < list.length; rank++) {
        const d = list[rank];
        if (d === undefined || (types !== undefined && !reportsAny(d, types))) continue;
        const gate = gates[rank];
        if (gate === undefined || profile === undefined || gate(profile)) {
          // a gated-out detector takes no time: the clock is read after the ones that run
          let found: Finding[];
          try {
            found = d.detect(text);
          } catch (err) {
            throw new GuardUnavailableError(d.name, 'error', { cause: err });
          }
          for (const f of found) {
            if (types === undefined || types.has(f.type)) (all ??= []).push({ f, rank });
          }
          if (budgetMs !== undefined && now() - t0 > budgetMs)
            throw new GuardUnavailableError(d.name, 'budget');
          timed = rank;
        }
      }
      // and once at the end (the profile pass counts too), unless the last detector just did
      const last = list[list.length - 1];
      if (budgetMs !== undefined && last !== undefined && timed !== list.length - 1)
        if (now() - t0 > budgetMs) throw new GuardUnavailableError(last.name, 'budget');
      return all === undefined ? [] : resolveOverlaps(all);
    },
  };
}

function reportsAny(d: Detector, types: ReadonlySet<FindingType>): boolean {
  for (const t of d.types) if (types.has(t)) return true;
  return false;
}

function resolveOverlaps(all: Ranked[]): Finding[] {
  all.sort(
    (a, b) =>
      b.f.end - b.f.start - (a.f.end - a.f.start) || a.rank - b.rank || a.f.start - b.f.start,
  );
  const kept: Finding[] = []; // sorted by start, non-overlapping
  for (const { f } of all) {
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((kept[mid]?.start ?? 0) < f.start) lo = mid + 1;
      else hi = mid;
    }
    // What a longer finding does not cover is kept as its own finding: dropping the whole of
    // an overlapping one would leave that part unredacted (a JWT whose last part runs into the
    // dashes of a PEM header that follows it).
    let at = f.start;
    let i = lo;
    const prev = kept[lo - 1];
    if (prev !== undefined && prev.end > at) at = prev.end;
    const pieces: Finding[] = [];
    while (at < f.end) {
      const next = kept[i];
      const stop = next === undefined ? f.end : Math.min(f.end, next.start);
      if (stop > at)
        pieces.push(at === f.start && stop === f.end ? f : { ...f, start: at, end: stop });
      if (next === undefined || next.start >= f.end) break;
      at = Math.max(at, next.end);
      i++;
    }
    for (const piece of pieces) kept.splice(insertionPoint(kept, piece.start), 0, piece);
  }
  return kept;
}

/** The index in `kept` (sorted by start) before which a finding starting at `start` goes. */
function insertionPoint(kept: readonly Finding[], start: number): number {
  let lo = 0;
  let hi = kept.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((kept[mid]?.start ?? 0) < start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let defaultScanner: Scanner | undefined;

/** Scans `text` with the built-in detectors. */
export function scan(text: string, options?: ScanOptions): Finding[] {
  defaultScanner ??= createScanner();
  return defaultScanner.scan(text, options);
}
