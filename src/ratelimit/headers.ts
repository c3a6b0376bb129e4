/**
 * @module ratelimit/headers — the IETF `RateLimit-Policy` and `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers-10, Structured Field lists of String items) for a
 * request's budgets, and `Retry-After` seconds. Policy names say which budget each item is:
 * `rpm|tpm|tpd|conc` + `-sub|-client`, and `-m<n>` for the n-th model's own budgets (per-model
 * limits), e.g. `RateLimit-Policy: "rpm-sub";q=60;w=60, "tpm-sub-m1";q=4000;w=60;qu="tokens"`.
 * No identity or model id appears in them.
 */
import { limitShort } from './budgets.js';
import type { BudgetState } from './types.js';

/** The two fields, or none when no budget applies (lower-case names, as Node sets them). */
export type RateLimitFields = Readonly<Partial<Record<'ratelimit-policy' | 'ratelimit', string>>>;

/** The policy name of each state's budget (unique within one response). */
function names(states: readonly BudgetState[]): string[] {
  const models = new Map<string, number>();
  return states.map(({ budget }) => {
    const base = `${limitShort(budget.limit)}-${budget.identity.kind}`;
    if (budget.model === '*') return base;
    let n = models.get(budget.model);
    if (n === undefined) {
      n = models.size + 1;
      models.set(budget.model, n);
    }
    return `${base}-m${n}`;
  });
}

/**
 * `RateLimit-Policy` (quota `q`, window `w` in seconds, unit `qu`: requests by default,
 * `"tokens"` for token budgets, `"concurrent-requests"` without a window) and `RateLimit`
 * (remaining `r`, `t` = seconds until the bucket is full again, rounded up; none for
 * concurrency). A budget listed twice appears once.
 */
export function rateLimitHeaders(states: readonly BudgetState[]): RateLimitFields {
  const seen = new Set<string>();
  const unique = states.filter((s) => !seen.has(s.budget.key) && seen.add(s.budget.key));
  if (unique.length === 0) return {};
  const labels = names(unique);
  const policy: string[] = [];
  const current: string[] = [];
  unique.forEach(({ budget, remaining, resetMs }, i) => {
    const name = `"${labels[i] ?? ''}"`;
    if (budget.limit === 'concurrent-requests') {
      policy.push(`${name};q=${budget.capacity};qu="concurrent-requests"`);
      current.push(`${name};r=${remaining}`);
      return;
    }
    const unit = budget.limit === 'requests-per-minute' ? '' : ';qu="tokens"';
    policy.push(`${name};q=${budget.capacity};w=${Math.round(budget.windowMs / 1000)}${unit}`);
    current.push(`${name};r=${remaining};t=${Math.ceil(resetMs / 1000)}`);
  });
  return { 'ratelimit-policy': policy.join(', '), ratelimit: current.join(', ') };
}

/** Whole seconds for `Retry-After` (RFC 9110 §10.2.3): rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
