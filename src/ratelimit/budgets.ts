/**
 * @module ratelimit/budgets — from a caller's limits (policy `limits`, merged over its roles) to
 * the budgets one request counts against: each limit held twice, for the token's subject and for
 * its client; the top-level set over all models, each `models` pattern per model it matches.
 * Keys hash the identity and the model, so they stay short whatever a token says; results are
 * cached (bounded LRU), so the hot path hashes nothing.
 */
import { createHash } from 'node:crypto';
import { PatternSet } from '../policy/pattern.js';
import type { LimitSet, LimitsSpec } from '../policy/index.js';
import type { Budget, LimitName } from './types.js';

/** Who is asking for which model, under which limits. */
export interface BudgetInput {
  readonly sub: string;
  readonly clientId: string;
  readonly model: string;
  readonly limits: LimitsSpec;
}

/** Each limit: its policy field, its short name (keys, header names) and its window. */
export const LIMITS: readonly {
  readonly name: LimitName;
  readonly field: keyof LimitSet;
  readonly short: 'rpm' | 'tpm' | 'tpd' | 'conc';
  readonly windowMs: number;
}[] = [
  { name: 'requests-per-minute', field: 'requestsPerMinute', short: 'rpm', windowMs: 60_000 },
  { name: 'tokens-per-minute', field: 'tokensPerMinute', short: 'tpm', windowMs: 60_000 },
  { name: 'tokens-per-day', field: 'tokensPerDay', short: 'tpd', windowMs: 86_400_000 },
  { name: 'concurrent-requests', field: 'concurrentRequests', short: 'conc', windowMs: 0 },
];

const SHORT: ReadonlyMap<LimitName, string> = new Map(LIMITS.map((l) => [l.name, l.short]));

/** The short name of a limit: `rpm`, `tpm`, `tpd` or `conc`. */
export function limitShort(limit: LimitName): string {
  return SHORT.get(limit) ?? limit;
}

/** 22 characters of base64url SHA-256 (132 bits): short, stable, no collisions in practice. */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

const compiled = new WeakMap<LimitsSpec, readonly (readonly [PatternSet, LimitSet])[]>();

function patternsOf(limits: LimitsSpec): readonly (readonly [PatternSet, LimitSet])[] {
  let list = compiled.get(limits);
  if (list === undefined) {
    list = Object.entries(limits.models).map(([p, set]) => [new PatternSet([p]), set] as const);
    compiled.set(limits, list);
  }
  return list;
}

/**
 * The per-model limits of `model`: where several patterns match it, the smallest of each limit
 * (two buckets with the same window over the same traffic: the smaller always runs out first).
 */
function modelSet(limits: LimitsSpec, model: string): LimitSet | undefined {
  let out: Partial<Record<keyof LimitSet, number>> | undefined;
  for (const [patterns, set] of patternsOf(limits)) {
    if (!patterns.matches(model)) continue;
    out ??= {};
    for (const { field } of LIMITS) {
      const v = set[field];
      if (v !== undefined) out[field] = Math.min(v, out[field] ?? v);
    }
  }
  return out;
}

function push(
  out: Budget[],
  set: LimitSet,
  input: { readonly sub: string; readonly clientId: string },
  model: string,
  keyModel: string,
): void {
  for (const l of LIMITS) {
    const capacity = set[l.field];
    if (capacity === undefined) continue;
    for (const [kind, id] of [
      ['sub', input.sub],
      ['client', input.clientId],
    ] as const) {
      out.push(
        Object.freeze({
          limit: l.name,
          identity: Object.freeze({ kind, id }),
          model,
          capacity,
          windowMs: l.windowMs,
          key: `${l.short}:${kind}:${keyModel}:${shortHash(id)}`,
        }),
      );
    }
  }
}

const CACHE_SIZE = 10_000;
const cache = new Map<string, { limits: LimitsSpec; budgets: readonly Budget[] }>();

/**
 * The budgets a request of `sub` through `clientId` for `model` counts against, in the order
 * checks name them: the top-level set (model `*`) first, then the model's own; within a set
 * rpm, tpm, tpd, concurrent; each for the subject, then the client. Empty: nothing limits it.
 */
export function budgetsFor(input: BudgetInput): readonly Budget[] {
  const id = `${input.sub}\u0000${input.clientId}\u0000${input.model}`;
  const hit = cache.get(id);
  if (hit?.limits === input.limits) {
    cache.delete(id);
    cache.set(id, hit);
    return hit.budgets;
  }
  const out: Budget[] = [];
  push(out, input.limits, input, '*', '*');
  const own = modelSet(input.limits, input.model);
  if (own !== undefined) push(out, own, input, input.model, shortHash(input.model));
  const budgets = Object.freeze(out);
  cache.set(id, { limits: input.limits, budgets });
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  return budgets;
}

/**
 * The budgets `GET /v1/usage` lists: the top-level ones, then per `models` pattern its own, with
 * `model` = the pattern (an exact pattern names a model, so its counters are that model's).
 * Given `models` (the ids served), patterns are expanded instead: one set per model they match,
 * with that model's real counters.
 */
export function usageBudgets(input: {
  readonly sub: string;
  readonly clientId: string;
  readonly limits: LimitsSpec;
  readonly models?: readonly string[];
}): readonly Budget[] {
  const out: Budget[] = [];
  push(out, input.limits, input, '*', '*');
  if (input.models === undefined) {
    for (const [pattern, set] of Object.entries(input.limits.models)) {
      push(out, set, input, pattern, shortHash(pattern));
    }
  } else {
    for (const model of input.models) {
      const own = modelSet(input.limits, model);
      if (own !== undefined) push(out, own, input, model, shortHash(model));
    }
  }
  return out;
}
