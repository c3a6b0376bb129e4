/**
 * @module http/content-guards — the content guards on an inference request: the caller's
 * compiled rules for the model, one Redactor for the whole request (prompt and output share
 * placeholders), and what the audit event records (`guard.prompt`, `guard.injection`,
 * `guard.output`: actions, types and counts — never text).
 */
import type { FastifyRequest } from 'fastify';
import {
  ContentBlockedError,
  injectionRecord,
  OutputStream,
  overallAction,
  phaseRecord,
  Redactor,
  type CompiledGuards,
  type Guards,
  type OutputVerdict,
  type PromptVerdict,
  type RuledFinding,
} from '../guard/index.js';
import { GuardUnavailableError } from '../guard/index.js';
import type { CallContext } from '../inference/index.js';
import type { Metrics } from '../metrics/index.js';
import type { DataControls, PolicySnapshot } from '../policy/index.js';

/** One request's guards. */
export interface RequestGuards {
  readonly guards: Guards;
  readonly compiled: CompiledGuards;
  readonly redactor: Redactor;
}

/** The request's guards for `model`, or undefined when the content guards are off. */
export function requestGuards(
  request: FastifyRequest,
  snapshot: PolicySnapshot,
  controls: DataControls,
  model: string,
): RequestGuards | undefined {
  const guards = request.server.guards;
  if (!guards?.enabled) return undefined;
  return {
    guards,
    compiled: guards.compiled(snapshot, controls, model),
    redactor: new Redactor(),
  };
}

/** Counts a phase's verdict and its findings (findings are rare: labels are bound only then). */
function count(
  metrics: Metrics | undefined,
  phase: 'prompt' | 'output',
  action: 'allow' | 'redact' | 'block',
  findings: readonly RuledFinding[],
): void {
  if (metrics === undefined) return;
  metrics.verdict(phase, action);
  for (const f of findings) {
    metrics.guardFindings.labels(phase, f.type, f.action, f.dryRun ? 'true' : 'false').inc();
  }
}

/** `err`, counted first when it is a guard failure (the 503 the request becomes). */
function counted(request: FastifyRequest, err: unknown): unknown {
  if (err instanceof GuardUnavailableError) {
    request.server.metrics?.guardFailures.labels(err.guard, err.reason).inc();
  }
  return err;
}

/** Runs `fn`, counting a guard failure before passing it on. */
function failClosed<T>(request: FastifyRequest, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw counted(request, err);
  }
}

function record(request: FastifyRequest, key: string, value: Record<string, unknown>): void {
  const facts = (request.audit ??= {});
  facts.guard = { ...facts.guard, [key]: value };
}

/**
 * The texts a caller sends, checked by the prompt rules (and, for chats, the injection guard):
 * returned as the model may see them. Throws ContentBlockedError (400) when the policy blocks
 * what was found, GuardUnavailableError (503) when a guard fails.
 */
export function guardPrompt(
  request: FastifyRequest,
  rg: RequestGuards,
  texts: readonly string[],
  options: { injection: boolean | readonly boolean[]; what: 'prompt' | 'input'; ctx: CallContext },
): readonly string[] | Promise<readonly string[]> {
  const v = failClosed(request, () =>
    rg.guards.checkPrompt(rg.compiled, texts, rg.redactor, {
      injection: options.injection,
      signal: options.ctx,
    }),
  );
  // A promise only when the classifier was asked: the rest answer without one.
  return v instanceof Promise
    ? v.then(
        (w) => promptDone(request, rg, w, options.what),
        (err: unknown) => {
          throw counted(request, err);
        },
      )
    : promptDone(request, rg, v, options.what);
}

/** Counts and records a prompt verdict; throws ContentBlockedError when it blocks. */
function promptDone(
  request: FastifyRequest,
  rg: RequestGuards,
  v: PromptVerdict,
  what: 'prompt' | 'input',
): readonly string[] {
  const all = v.findings.some((f) => f.length > 0) ? v.findings.flat() : NO_FINDINGS;
  count(request.server.metrics, 'prompt', v.action, all);
  if (v.injection?.detected === true) {
    const inj = v.injection;
    request.server.metrics?.injections
      .labels(inj.applied ? inj.action : rg.compiled.injection.dryRun ? 'dry_run' : 'allow')
      .inc();
  }
  if (all.length > 0 || v.action !== 'allow') record(request, 'prompt', phaseRecord(all, v.action));
  if (v.injection !== undefined && (v.injection.detected || v.injection.classifier !== undefined)) {
    record(request, 'injection', injectionRecord(v.injection, rg.compiled.injection.dryRun));
  }
  if (v.action === 'block') {
    const types = all.filter((f) => !f.dryRun && f.action === 'block').map((f) => f.type);
    if (v.injection?.applied === true && v.injection.action === 'block')
      types.push('PROMPT_INJECTION');
    throw new ContentBlockedError(what, types);
  }
  return v.texts;
}

const NO_FINDINGS: readonly RuledFinding[] = [];

/** A whole generated text through the output rules (non-streamed answers). */
export function guardOutput(
  request: FastifyRequest,
  rg: RequestGuards,
  text: string,
): OutputVerdict {
  const v = failClosed(request, () => rg.guards.checkOutput(rg.compiled, text, rg.redactor));
  count(request.server.metrics, 'output', v.action, v.findings);
  if (v.findings.length > 0) record(request, 'output', phaseRecord(v.findings, v.action));
  return v;
}

/** A streamed answer's output guard; call {@link endOutputStream} when generation ends. */
export function outputStream(rg: RequestGuards): OutputStream {
  return new OutputStream(rg.compiled.output, rg.redactor, { batch: STREAM_BATCH });
}

/** Counts a guard failure that cut a stream mid-way (the stream then ends with an error). */
export function streamGuardFailed(request: FastifyRequest, err: unknown): boolean {
  counted(request, err);
  return err instanceof GuardUnavailableError;
}

/**
 * Characters a stream gathers beyond its hold-back before it scans again: a few tokens of extra
 * latency for a scan every few tokens instead of one per token.
 */
const STREAM_BATCH = 32;

/** Records what an output stream found. */
export function endOutputStream(request: FastifyRequest, stream: OutputStream): void {
  const found: readonly RuledFinding[] = stream.findings();
  const action = overallAction(found);
  count(request.server.metrics, 'output', action, found);
  if (found.length > 0) record(request, 'output', phaseRecord(found, action));
}
