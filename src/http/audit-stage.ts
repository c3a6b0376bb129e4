/**
 * @module http/audit-stage — the last pipeline stage: every response of a protected route and of
 * the OAuth endpoints becomes one audit event, written durably BEFORE the response leaves (an
 * `onSend` hook awaits the group commit). If the audit log cannot be written the response is
 * replaced by a 503 (fail closed): nothing is answered unrecorded. Refusals of callers with no
 * identity yet (bad token, wrong client secret, oversized body) are counted by
 * `AnonymousFailures` instead, so an anonymous flood costs a bounded number of events. Inference
 * responses get their signed receipt here, once their event's place in the chain is known.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type {
  AnonymousFailures,
  AuditEventInput,
  AuditLog,
  ReceiptSubject,
} from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { pathOnly } from './access-log.js';
import type { AuditFacts } from './audit-facts.js';
import type { EventStream } from './sse.js';

export type { AuditFacts } from './audit-facts.js';

/** What the stage needs. */
export interface AuditStageDeps {
  audit: AuditLog;
  anonymous: AnonymousFailures;
  /** Signs a receipt; undefined: receipts are off. */
  signReceipt: ((subject: ReceiptSubject) => Promise<string>) | undefined;
  clock: Clock;
}

/** Statuses that are refusals of the caller (RFC 6750, policy, size, limits), not failures. */
const DENIALS = new Set([401, 403, 413, 429]);
/** Longest claimed (unverified) client id kept in an aggregate. */
const MAX_CLAIMED_ID = 128;

const decisionOf = (status: number, allowed: boolean): AuditEventInput['decision'] =>
  !allowed || DENIALS.has(status) ? 'deny' : status < 400 ? 'allow' : 'error';

function reasonOf(request: FastifyRequest, status: number, allowed: boolean): string {
  const d = request.decision;
  if (d !== undefined && (!allowed || status < 400)) return d.reason;
  if (status < 400) return 'allowed';
  return `refused: ${request.auditReason ?? String(status)}`;
}

/** The event of a response with a known caller. */
export function eventOf(
  request: FastifyRequest,
  status: number,
  time: number,
  latencyMs: number,
): AuditEventInput {
  const facts: AuditFacts = request.audit ?? {};
  const who = request.identity;
  const allowed = request.decision?.allowed ?? true;
  const scope = request.routeOptions.config.scope;
  return {
    time,
    requestId: request.id,
    issuer: who?.issuer ?? null,
    subject: who?.subject ?? facts.subject ?? null,
    clientId: who?.clientId ?? facts.clientId ?? null,
    roles: who?.roles ?? facts.roles ?? [],
    action:
      facts.action ?? request.decision?.action ?? (typeof scope === 'string' ? scope : 'request'),
    resource: facts.resource ?? request.decision?.resource ?? null,
    decision: decisionOf(status, allowed),
    reason: reasonOf(request, status, allowed),
    status,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    source: request.ip,
    usage: facts.usage ?? null,
    promptSha256: facts.promptSha256 ?? null,
    outputSha256: facts.outputSha256 ?? null,
    guard: facts.guard ?? null,
    details: facts.details ?? { method: request.method, path: pathOnly(request.url) },
  };
}

/** True when nothing verified says who the caller is. */
const anonymous = (request: FastifyRequest): boolean =>
  request.identity === undefined && request.audit?.clientId === undefined;

/** The body of the 503 sent instead of a response that could not be recorded. */
function unavailable(request: FastifyRequest): string {
  const message = 'The audit log is unavailable; the request was not processed';
  return JSON.stringify(
    request.url.startsWith('/v1/')
      ? {
          error: {
            message,
            type: 'service_unavailable_error',
            param: null,
            code: 'audit_unavailable',
          },
        }
      : { error: 'temporarily_unavailable', error_description: message },
  );
}

/** The audit pipeline stage: hooks for routes, and the call streamed responses make. */
export class AuditStage {
  readonly #d: AuditStageDeps;

  constructor(deps: AuditStageDeps) {
    this.#d = deps;
  }

  /** Counts an anonymous refusal. */
  #noteAnonymous(request: FastifyRequest, status: number): void {
    const scope = request.routeOptions.config.scope;
    const claimed = request.audit?.claimedClientId;
    this.#d.anonymous.note({
      action: request.audit?.action ?? (typeof scope === 'string' ? scope : 'request'),
      reason: request.auditReason ?? String(status),
      clientId: claimed === undefined ? null : claimed.slice(0, MAX_CLAIMED_ID),
      source: request.ip,
      status,
    });
  }

  /**
   * Records the event of a finished response (durably) and, for an inference response that
   * succeeded, signs its receipt. Rejects with AuditUnavailableError when the log is down.
   */
  async record(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
  ): Promise<string | undefined> {
    if (anonymous(request)) {
      this.#noteAnonymous(request, status);
      return undefined;
    }
    const time = this.#d.clock();
    const event = eventOf(request, status, time, reply.elapsedTime);
    const position = await this.#d.audit.record(event);
    const model = request.audit?.model;
    const { subject, promptSha256, outputSha256 } = event;
    if (
      this.#d.signReceipt === undefined ||
      status >= 400 ||
      model === undefined ||
      subject === null ||
      promptSha256 === null ||
      outputSha256 === null
    ) {
      return undefined;
    }
    return this.#d.signReceipt({
      sub: subject,
      client_id: event.clientId,
      request_id: request.id,
      model: model.id,
      model_sha256: model.sha256,
      prompt_sha256: promptSha256,
      output_sha256: outputSha256,
      chain: position.chain,
      seq: position.seq,
    });
  }

  /**
   * Ends a streamed response: its headers and output are out, so the event is recorded now,
   * and its receipt goes out as an SSE comment line just before `data: [DONE]`. If the log
   * cannot be written, the stream ends with an error event and no `[DONE]`, so the client knows
   * the answer is not complete (it is not recorded). Never rejects.
   */
  async endStream(
    stream: EventStream,
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
  ): Promise<void> {
    let receipt: string | undefined;
    try {
      receipt = await this.record(request, reply, status);
    } catch (err) {
      request.log.error({ err }, 'audit log unavailable: stream ended without [DONE]');
      stream.send({
        error: {
          message: 'The audit log is unavailable; the response is incomplete',
          type: 'service_unavailable_error',
          param: null,
          code: 'audit_unavailable',
        },
      });
      stream.abort();
      return;
    }
    if (receipt !== undefined) stream.comment(`gatehouse-receipt ${receipt}`);
    stream.done();
  }

  /** The `onSend` hook of an audited route. */
  readonly onSend: onSendHookHandler = (request, reply, payload, done) => {
    if (reply.raw.headersSent) {
      done(null, payload);
      return;
    }
    this.record(request, reply, reply.statusCode).then(
      (receipt) => {
        if (receipt !== undefined) void reply.header('gatehouse-receipt', receipt);
        done(null, payload);
      },
      (err: unknown) => {
        request.log.error({ err }, 'audit log unavailable: response refused');
        void reply.code(503).removeHeader('gatehouse-receipt').headers({
          'content-type': 'application/json; charset=utf-8',
          'retry-after': '1',
          'cache-control': 'no-store',
        });
        done(null, unavailable(request));
      },
    );
  };

  /** Adds the stage to every route that has a scope or declares `audit` in its config. */
  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const c = route.config;
      if (c?.scope === undefined && c?.audit !== true) return;
      const own = route.onSend;
      route.onSend =
        own === undefined ? this.onSend : [...(Array.isArray(own) ? own : [own]), this.onSend];
    });
  }
}
