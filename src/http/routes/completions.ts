/**
 * @module http/routes/completions — `POST /v1/chat/completions` and `POST /v1/completions`
 * (OpenAI shapes), with `stream: true` as server-sent events ending in `[DONE]` and
 * `stream_options.include_usage`. Usage counts come from the model's own tokenizer; a client
 * that disconnects cancels generation and frees its slot.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatMessage, GenerateResult, InferenceService } from '../../inference/index.js';
import type { Canonical } from '../../audit/index.js';
import { BadRequestError } from '../../errors.js';
import { capMaxTokens, checkMessages, guardSystemMessages } from '../../guard/index.js';
import type { CallContext } from '../../inference/index.js';
import type { DataControls, Policy } from '../../policy/index.js';
import {
  endOutputStream,
  guardOutput,
  guardPrompt,
  outputStream,
  requestGuards,
  streamGuardFailed,
  type RequestGuards,
} from '../content-guards.js';
import { inferenceFacts } from '../inference-facts.js';
import { answeredBy, callContext, modelResource, objectId } from '../openai.js';
import { clientGone, EventStream } from '../sse.js';
import {
  chatSchema,
  completionSchema,
  type ChatBody,
  type CompletionBody,
} from './completion-schemas.js';

type Kind = 'chat' | 'text';

interface Job {
  kind: Kind;
  model: string;
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  temperature: number | undefined;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[] | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** What the client sent as input, for the prompt digest (messages or prompt, as sent). */
  input: Canonical;
  /** The request's call context (the caller's prompt-token limit rides along). */
  ctx: CallContext;
  /** The content guards, when on: the output is checked with the same Redactor as the prompt. */
  guards: RequestGuards | undefined;
}

const finish = (r: GenerateResult): 'stop' | 'length' =>
  r.finishReason === 'length' ? 'length' : 'stop';

/** OpenAI's finish reason when the data controls cut the output. */
const FILTERED = 'content_filter';

const tokens = (r: GenerateResult) => ({
  promptTokens: r.promptTokens,
  completionTokens: r.completionTokens,
});

function usage(r: GenerateResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  };
}

/** The generation settings both endpoints share, with OpenAI's defaults filled in. */
function sampling(b: ChatBody | CompletionBody, maxTokens: number) {
  const stop = b.stop ?? undefined;
  return {
    maxTokens,
    // OpenAI's defaults: sample at temperature 1 unless the request says otherwise.
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? undefined,
    seed: b.seed ?? undefined,
    stop: stop === undefined ? undefined : typeof stop === 'string' ? [stop] : stop,
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
  };
}

function textOf(content: ChatBody['messages'][number]['content']): string {
  if (typeof content === 'string') return content;
  if (content === null) return '';
  return content.map((p) => p.text).join('');
}

/** Ends a stream: recorded (and its receipt sent) by the audit stage, when audit is on. */
async function end(
  stream: EventStream,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
): Promise<void> {
  const stage = request.server.auditStage;
  if (stage === undefined) stream.done();
  else await stage.endStream(stream, request, reply, status);
}

async function run(
  inference: InferenceService,
  job: Job,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const id = objectId(job.kind === 'chat' ? 'chatcmpl' : 'cmpl');
  const created = Math.floor(Date.now() / 1000);
  const object = job.kind === 'chat' ? 'chat.completion' : 'text_completion';
  const { ctx, guards } = job;
  const req = {
    messages: job.messages,
    prompt: job.prompt,
    maxTokens: job.maxTokens,
    temperature: job.temperature,
    topP: job.topP,
    seed: job.seed,
    stop: job.stop,
  };
  if (!job.stream) {
    const r = await inference.generate(job.model, req, ctx);
    const v = guards === undefined ? undefined : guardOutput(request, guards, r.text);
    const text = v === undefined ? r.text : v.text;
    const reason = v?.blocked === undefined ? finish(r) : FILTERED;
    inferenceFacts(request, inference, job.model, job.input, { text }, tokens(r), answeredBy(ctx));
    const choice =
      job.kind === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: reason,
          }
        : { index: 0, text, logprobs: null, finish_reason: reason };
    return { id, object, created, model: job.model, choices: [choice], usage: usage(r) };
  }
  const stream = new EventStream(reply);
  const chunkObject = job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choice: Record<string, unknown>): void => {
    stream.send({ id, object: chunkObject, created, model: job.model, choices: [choice] });
  };
  const delta = (text: string): void => {
    chunk(
      job.kind === 'chat'
        ? { index: 0, delta: { content: text }, logprobs: null, finish_reason: null }
        : { index: 0, text, logprobs: null, finish_reason: null },
    );
  };
  let text = '';
  const out = guards === undefined ? undefined : outputStream(guards);
  // The policy cut the stream: stop generating, nothing more is sent.
  const stopIfCut = (): void => {
    if (out?.blocked !== undefined) ctx.cancel?.();
  };
  const send = (t: string): void => {
    if (t.length === 0) return;
    text += t;
    delta(t);
  };
  try {
    const r = await inference.generate(job.model, req, ctx, {
      onStart: () => {
        stream.open();
        if (job.kind === 'chat') {
          chunk({
            index: 0,
            delta: { role: 'assistant', content: '' },
            logprobs: null,
            finish_reason: null,
          });
        }
      },
      onText: (t) => {
        if (out === undefined) {
          send(t);
          return;
        }
        if (out.blocked !== undefined) return;
        send(out.push(t));
        stopIfCut();
      },
    });
    if (out !== undefined) {
      if (out.blocked === undefined) send(out.end());
      endOutputStream(request, out);
    }
    const cut = out?.blocked !== undefined;
    if (r.finishReason !== 'cancelled' || cut) {
      const reason = cut ? FILTERED : finish(r);
      chunk(
        job.kind === 'chat'
          ? { index: 0, delta: {}, logprobs: null, finish_reason: reason }
          : { index: 0, text: '', logprobs: null, finish_reason: reason },
      );
      if (job.includeUsage) {
        stream.send({
          id,
          object: chunkObject,
          created,
          model: job.model,
          choices: [],
          usage: usage(r),
        });
      }
    }
    inferenceFacts(request, inference, job.model, job.input, { text }, tokens(r), answeredBy(ctx));
    await end(stream, request, reply, r.finishReason === 'cancelled' && !cut ? 499 : 200);
  } catch (err) {
    if (!stream.isOpen) throw err;
    // Headers are gone: report in-band, as OpenAI does, then close the stream. A guard that
    // failed on the output cut it: nothing unchecked was sent (fail closed).
    const guard = streamGuardFailed(request, err);
    request.log.error(
      { err },
      guard ? 'output guard failed mid-stream' : 'generation failed mid-stream',
    );
    stream.send({
      error: guard
        ? {
            message: (err as Error).message,
            type: 'server_error',
            param: null,
            code: 'guard_unavailable',
          }
        : {
            message: 'Generation failed',
            type: 'server_error',
            param: null,
            code: 'internal_error',
          },
    });
    await end(stream, request, reply, guard ? 503 : 500);
  }
  return reply;
}

/** `max_tokens` lowered to the caller's cap; a lowered one is noted for the audit event. */
function capped(request: FastifyRequest, controls: DataControls, requested: number): number {
  const { maxTokens, capped: lowered } = capMaxTokens(requested, controls);
  if (lowered) {
    const facts = (request.audit ??= {});
    facts.guard = { ...facts.guard, maxTokens: { requested, capped: maxTokens } };
  }
  return maxTokens;
}

/**
 * The operator's system prompt of generation model `id`, if it has one. A model that is not a
 * generator answers here as `generate` would: 404 unknown, 400 naming what it does.
 */
function operatorPrompt(
  inference: InferenceService,
  id: string,
  asked: 'chat completions' | 'text completions',
): string | undefined {
  const c = inference.model(id, 'generation', asked).config;
  return 'systemPrompt' in c ? c.systemPrompt : undefined;
}

/**
 * The chat's messages as the model may see them: the caller's system messages kept, stripped or
 * refused as its policy says, the operator's system prompt first (guard/system-messages).
 */
function guardedMessages(
  request: FastifyRequest,
  inference: InferenceService,
  b: ChatBody,
  controls: DataControls,
): { messages: ChatMessage[]; callerFrom: number } {
  checkMessages(b.messages.length, controls);
  const rule = controls.systemMessages;
  const asSent = b.messages.map((m) => ({ role: m.role, content: textOf(m.content) }));
  const facts = (request.audit ??= {});
  try {
    const { messages, verdict } = guardSystemMessages(
      asSent,
      rule,
      operatorPrompt(inference, b.model, 'chat completions'),
      (content) => ({ role: 'system', content }),
    );
    facts.guard = { ...facts.guard, systemMessages: verdict };
    return { messages, callerFrom: verdict.operatorPrompt ? 1 : 0 };
  } catch (err) {
    const sent = asSent.filter((m) => m.role === 'system' || m.role === 'developer').length;
    facts.guard = {
      ...facts.guard,
      systemMessages: { action: 'refuse', sent, operatorPrompt: false },
    };
    throw err;
  }
}

/**
 * The caller's messages (after the operator's prompt) through the prompt guards: synchronous
 * unless the injection classifier is consulted, so most requests pay no promise for it.
 */
function guardChat(
  request: FastifyRequest,
  guards: RequestGuards,
  messages: ChatMessage[],
  callerFrom: number,
  ctx: CallContext,
): ChatMessage[] | Promise<ChatMessage[]> {
  const caller = messages.slice(callerFrom);
  const sent = caller.map((m) => m.content);
  // System and developer messages come from callers the policy lets instruct the model: they
  // are checked for data like the rest, not for instructions.
  const untrusted = caller.map((m) => m.role !== 'system' && m.role !== 'developer');
  const texts = guardPrompt(request, guards, sent, {
    injection: untrusted,
    what: 'prompt',
    ctx,
  });
  const apply = (out: readonly string[]): ChatMessage[] =>
    out === sent
      ? messages
      : messages.map((m, i) => (i < callerFrom ? m : { ...m, content: out[i - callerFrom] ?? '' }));
  return texts instanceof Promise ? texts.then(apply) : apply(texts);
}

export function completionRoutes(
  app: FastifyInstance,
  inference: InferenceService,
  policy: Policy,
  defaultMaxTokens: number,
): void {
  const config = { scope: 'inference:invoke', resource: modelResource(), limited: true };

  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    { schema: chatSchema, config },
    async (request, reply) => {
      const b = request.body;
      const snapshot = policy.current();
      const controls = snapshot.dataControls(request.identity?.roles ?? []);
      const ctx = callContext(request, clientGone(request, reply), controls);
      const guards = requestGuards(request, snapshot, controls, b.model);
      const { messages, callerFrom } = guardedMessages(request, inference, b, controls);
      const checked =
        guards === undefined ? messages : guardChat(request, guards, messages, callerFrom, ctx);
      return run(
        inference,
        {
          kind: 'chat',
          model: b.model,
          messages: checked instanceof Promise ? await checked : checked,
          input: b.messages,
          ctx,
          guards,
          ...sampling(
            b,
            capped(request, controls, b.max_completion_tokens ?? b.max_tokens ?? defaultMaxTokens),
          ),
        },
        request,
        reply,
      );
    },
  );

  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    { schema: completionSchema, config },
    async (request, reply) => {
      const b = request.body;
      const snapshot = policy.current();
      const controls = snapshot.dataControls(request.identity?.roles ?? []);
      if (operatorPrompt(inference, b.model, 'text completions') !== undefined) {
        throw new BadRequestError(
          `The model '${b.model}' has an operator system prompt, which a raw prompt cannot carry: use /v1/chat/completions`,
        );
      }
      const sent = typeof b.prompt === 'string' ? b.prompt : (b.prompt[0] ?? '');
      const ctx = callContext(request, clientGone(request, reply), controls);
      const guards = requestGuards(request, snapshot, controls, b.model);
      const checked =
        guards === undefined
          ? [sent]
          : guardPrompt(request, guards, [sent], { injection: true, what: 'prompt', ctx });
      const prompt = (checked instanceof Promise ? await checked : checked)[0] ?? '';
      return run(
        inference,
        {
          kind: 'text',
          model: b.model,
          prompt,
          input: b.prompt,
          ctx,
          guards,
          ...sampling(b, capped(request, controls, b.max_tokens ?? defaultMaxTokens)),
        },
        request,
        reply,
      );
    },
  );
}
