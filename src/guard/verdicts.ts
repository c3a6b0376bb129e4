/**
 * @module guard/verdicts — what the content guards' verdicts become outside the pipeline: the
 * overall action of a text's findings, the 400 a blocked prompt gets, and the records the
 * audit event holds (actions, types and counts — never a value or an offset).
 */
import { GatewayError } from '../errors.js';
import type { InjectionVerdict } from './pipeline.js';
import { applies, type GuardAction, type RuledFinding } from './rules.js';
import type { Finding } from './types.js';

/** The blocked finding types of a text, named in a 400 (never the values). */
export class ContentBlockedError extends GatewayError {
  readonly types: readonly string[];
  constructor(phase: 'prompt' | 'input', types: readonly string[]) {
    const list = [...new Set(types)].join(', ');
    super(
      'CONTENT_BLOCKED',
      `The ${phase} was refused by the data controls: it contains ${list}, which your policy blocks`,
      400,
    );
    this.types = [...new Set(types)];
  }
}

const STRICT_RANK: Record<GuardAction, number> = { allow: 0, redact: 1, block: 2 };

/** The overall applied action of findings. */
export function overallAction(findings: Iterable<RuledFinding>): GuardAction {
  let out: GuardAction = 'allow';
  for (const f of findings) {
    if (applies(f) && STRICT_RANK[f.action] > STRICT_RANK[out]) out = f.action;
  }
  return out;
}

/** Counts per type (what the audit event holds: never a value, never an offset). */
export function countTypes(findings: Iterable<Finding>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) out[f.type] = (out[f.type] ?? 0) + 1;
  return out;
}

/** The audit record of a phase: overall action, counts per type, dry-run verdicts if any. */
export function phaseRecord(
  findings: Iterable<RuledFinding>,
  action: GuardAction,
): Record<string, unknown> {
  const all = [...findings];
  const dry = all.filter((f) => f.dryRun && f.action !== 'allow');
  return {
    action,
    findings: countTypes(all),
    ...(dry.length === 0
      ? {}
      : {
          dryRun: {
            action: overallAction(dry.map((f) => ({ ...f, dryRun: false }))),
            findings: countTypes(dry),
          },
        }),
  };
}

/** The audit record of an injection verdict. */
export function injectionRecord(v: InjectionVerdict, dryRun: boolean): Record<string, unknown> {
  return {
    score: v.score,
    heuristic: v.heuristic,
    ...(v.classifier === undefined ? {} : { classifier: v.classifier }),
    detected: v.detected,
    action: v.detected
      ? v.applied
        ? v.action
        : dryRun
          ? `dry-run:${v.action}`
          : 'allow'
      : 'allow',
  };
}
