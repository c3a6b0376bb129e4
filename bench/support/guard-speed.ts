/**
 * @module bench/support/guard-speed — the inputs and the timer of the guard speed figures:
 * realistic prompts built from the labelled corpora (PII lines and their hard negatives, benign
 * injection-corpus lines), the 1 MB adversarial prompts (the PII detectors' worst cases
 * interleaved, and one per injection-heuristic trick), and ms per KB as the median of runs.
 */
import { adversarialInputs } from '../../test/fixtures/guard/pii-corpus.adversarial.js';
import type { InjectionLine, PiiLine } from './guard-corpus.js';
import { median } from './measure.js';

export const KB = 1024;
export const MB = 1024 * KB;
/** Issue 9: heuristic and pattern guards at most this many ms per KB, at every size. */
export const MS_PER_KB_TARGET = 0.2;

/** `unit` repeated and cut to `size` characters. */
export const repeat = (unit: string, size: number): string =>
  unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/**
 * Benign prose with the invisible characters of ordinary text (NBSP and NNBSP in French numbers,
 * an emoji ZWJ sequence) and no PII: a prompt that no guard may block or redact.
 */
export const BENIGN_PROSE =
  'Could you summarise the attached quarterly report for the board? Focus on revenue, churn and hiring. ' +
  'Les chiffres sont en euros\u00a0; 1\u202f234 clients. 東京の支店も含めてください。 Thanks! 👨\u200d👩\u200d👧 ';

/**
 * A chat/log-like prompt of `size` characters: PII corpus lines (half of them carry a finding)
 * alternating with benign lines of the injection corpus (code, chat, invisible characters used
 * legitimately).
 */
export function realisticPrompt(
  pii: readonly PiiLine[],
  injection: readonly InjectionLine[],
  size: number,
): string {
  const benign = injection.filter((l) => l.label === 'benign');
  let s = '';
  for (let i = 0; s.length < size; i++) {
    const line = i % 2 === 0 ? pii[(i * 7) % pii.length] : benign[(i * 5) % benign.length];
    s += (line?.text ?? '') + '\n';
  }
  return s.slice(0, size);
}

/** The PII detectors' worst cases (pii-corpus.adversarial.ts), interleaved to `size`. */
export function piiAdversarial(size: number): string {
  const parts = [...adversarialInputs(Math.ceil(size / 40)).values()].flat();
  let s = '';
  for (let i = 0; s.length < size; i++) s += (parts[i % parts.length] ?? '') + '\n';
  return s.slice(0, size);
}

/** Adversarial inputs of the injection heuristics, by trick: name → builder of `size` chars. */
export const INJECTION_ADVERSARIAL: readonly (readonly [string, (size: number) => string])[] = [
  ['keyword prefixes', (n) => repeat('ignore ignore previous previous prior ', n)],
  ['open chains', (n) => repeat('ignore all previous instruction ', n)],
  ['one long word', (n) => repeat('a', n)],
  ['base64-like run', (n) => repeat('QUFBQUFBQUFB', n)],
  ['hex run', (n) => repeat('41', n)],
  ['percent run', (n) => repeat('%41%', n)],
  ['zero-width run', (n) => repeat('\u200b', n)],
  ['tag run', (n) => repeat('\u{e0041}', n)],
  ['bidi openers', (n) => repeat('\u202ea', n)],
  ['template-ish', (n) => repeat('<|<|[[<system', n)],
  ['role lines', (n) => repeat('system:\n', n)],
  ['mixed', (n) => repeat('I g n o r e \u200b%4 QUJD <| ', n)],
];

/** Medians over runs: wall-clock ms per KB, and this process's CPU ms per KB (user + system). */
export interface Timing {
  readonly msPerKb: number;
  readonly cpuMsPerKb: number;
}

/**
 * Median ms per KB of `op(text)` over `runs` timed runs; each run repeats `op` enough times to
 * last ~50 ms, so 1 KB figures are not timer noise, after one untimed warm-up run. CPU time
 * beside wall time: on a shared machine other tenants stretch the wall clock far more.
 */
export function timePerKb(op: (text: string) => unknown, text: string, runs: number): Timing {
  const reps = Math.max(1, Math.ceil((50 * KB) / text.length));
  for (let i = 0; i < reps; i++) op(text);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) op(text);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6 / reps);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e3 / reps);
  }
  const kb = text.length / KB;
  return { msPerKb: median(wall) / kb, cpuMsPerKb: median(cpu) / kb };
}

/** Median wall-clock ms per KB of `op(text)` (see timePerKb). */
export const msPerKb = (op: (text: string) => unknown, text: string, runs: number): number =>
  timePerKb(op, text, runs).msPerKb;
