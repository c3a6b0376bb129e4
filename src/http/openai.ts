/** @module http/openai — small helpers shared by the OpenAI-compatible routes. */
import type { FastifyRequest } from 'fastify';
import type { CallContext, ServedModel } from '../inference/index.js';
import type { LazyAbort } from '../lib/abort.js';
import type { DataControls, Policy } from '../policy/index.js';
import { uniqueIds } from '../lib/random.js';
import type { RequestLimit } from './rate-limit.js';

/** A request's {@link CallContext}: a class, so that a request allocates no closure for it. */
class RequestCall implements CallContext {
  readonly identity: string;
  readonly signal: LazyAbort;
  readonly maxPromptTokens: number | undefined;
  readonly #gone: LazyAbort;
  /** The served model (and registry version) the request was looked up on. */
  answeredBy: ServedModel | undefined;

  /** Reserves the caller's tokens (only when a token budget applies to the request). */
  readonly reserve: ((promptTokens: number, completionTokens: number) => Promise<void>) | undefined;
  /** Reports what the model spent, to settle the reservation. */
  readonly onUsage: ((tokens: number) => void) | undefined;

  constructor(
    identity: string,
    gone: LazyAbort,
    maxPromptTokens: number | undefined,
    limit: RequestLimit | undefined,
  ) {
    this.identity = identity;
    this.#gone = gone;
    this.signal = gone;
    this.maxPromptTokens = maxPromptTokens;
    if (limit === undefined) {
      this.reserve = undefined;
      this.onUsage = undefined;
    } else {
      this.reserve = (promptTokens, completionTokens) =>
        limit.reserve(promptTokens + completionTokens);
      this.onUsage = (tokens) => {
        limit.spent(tokens);
      };
    }
  }

  cancel(): void {
    this.#gone.abort();
  }

  onModel(model: ServedModel): void {
    this.answeredBy = model;
  }
}

/**
 * The served model a request's call was answered by — the version it was looked up on, even if
 * another was deployed or this one retired since (what its audit event and receipt name).
 */
export function answeredBy(ctx: CallContext): ServedModel | undefined {
  return ctx instanceof RequestCall ? ctx.answeredBy : undefined;
}

/**
 * The scheduling identity and cancellation of a request. The scheduler may abort `gone` itself
 * at the deadline, so a generation needs no AbortController of its own.
 */
export function callContext(
  request: FastifyRequest,
  gone: LazyAbort,
  controls?: DataControls,
): CallContext {
  const id = request.identity;
  return new RequestCall(
    id === undefined ? 'anonymous' : `${id.issuer}|${id.subject}`,
    gone,
    controls?.maxPromptTokens,
    request.rateLimit,
  );
}

/** The data controls of the request's caller under the policy in force. */
export function controlsOf(request: FastifyRequest, policy: Policy): DataControls {
  return policy.current().dataControls(request.identity?.roles ?? []);
}

/** Unique across processes and replicas; not secret (an id names a response, it grants nothing). */
const nextId = uniqueIds();

/** An OpenAI-style object id (`chatcmpl-…`, `cmpl-…`, `modr-…`), without a CSPRNG call per id. */
export function objectId(prefix: string): string {
  return `${prefix}-${nextId()}`;
}

/** JSON schema of an OpenAI `input`: one string, or a non-empty array of up to `maxItems`. */
export function textInputSchema(maxItems: number) {
  const text = { type: 'string', maxLength: 100_000 } as const;
  return {
    anyOf: [text, { type: 'array', minItems: 1, maxItems, items: text }],
  } as const;
}

/**
 * The policy resource of an OpenAI-style request: `model:<body.model>`, or `model:<fallback>`
 * when the body names none (e.g. `/v1/moderations`, whose default is `moderation`).
 */
export function modelResource(fallback?: string) {
  return (request: FastifyRequest): string | undefined => {
    const body = request.body as { model?: unknown } | null | undefined;
    const model = typeof body?.model === 'string' ? body.model : fallback;
    return model === undefined ? undefined : `model:${model}`;
  };
}
