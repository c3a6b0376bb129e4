/**
 * @module http/sse — server-sent events for streamed completions (OpenAI wire format: one
 * `data: <json>` event per chunk, `data: [DONE]` at the end), and cancellation when the client
 * goes away.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UNMATCHED } from '../metrics/index.js';
import { LazyAbort } from '../lib/abort.js';

const WATCH = Symbol('gatehouse.clientGone');

/** What the `close` listener of a response needs; kept on the response, not in a closure. */
interface Watch {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly gone: LazyAbort;
}
type WatchedResponse = ServerResponse & { [WATCH]?: Watch };

/** The response's `close` listener, one function for every response. */
function onClose(this: WatchedResponse): void {
  // Ended by us (finished, or about to be): not a client that went away.
  if (this.writableEnded) return;
  const w = this[WATCH];
  if (w === undefined) return;
  w.gone.abort();
  const { request, reply } = w;
  request.server.accessLog?.(request, reply, 499);
  // Counted here too: Fastify's onResponse, where the metrics count the others, never runs.
  const metrics = request.server.metrics;
  if (metrics !== undefined) {
    const model = (request.body as { model?: unknown } | null | undefined)?.model;
    metrics.requests
      .route(request.routeOptions.url ?? UNMATCHED, request.method)
      .observe(499, metrics.modelLabel(model), reply.elapsedTime / 1000);
  }
}

/**
 * A cancellation that fires when the client disconnects before the response is finished (the
 * response's `close` comes for a lost connection too); such a request gets its access-log line
 * here, status 499, since Fastify's onResponse never runs for it. Lazy: no AbortSignal is made
 * unless a backend asks for one.
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply): LazyAbort {
  const gone = new LazyAbort();
  const res = reply.raw as WatchedResponse;
  res[WATCH] = { request, reply, gone };
  // `close` comes once: `on` spares `once` its wrapper per request.
  res.on('close', onClose);
  return gone;
}

/** Events written within this many ms of the last write share one socket write. */
const COALESCE_MS = 4;

/**
 * A started event stream: headers are sent on `open()`, so errors before it stay plain HTTP.
 * A fast model produces a token every few hundred microseconds; one socket write per token
 * would cost more than the token. Events are written at once when the stream has been quiet,
 * and otherwise gathered for at most {@link COALESCE_MS} ms, so the first token is never delayed.
 */
export class EventStream {
  readonly #reply: FastifyReply;
  #open = false;
  #pending = '';
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(reply: FastifyReply) {
    this.#reply = reply;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Sends the status line and SSE headers; from here on Fastify no longer owns the reply. */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    // What the pipeline set on the reply so far (the RateLimit fields, …) goes out too.
    const earlier: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(this.#reply.getHeaders()))
      if (value !== undefined && name !== 'content-length') earlier[name] = value;
    this.#reply.hijack();
    this.#reply.raw.writeHead(200, {
      ...earlier,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  }

  /** Queues one event carrying `data` as JSON. */
  send(data: unknown): void {
    if (this.#reply.raw.writableEnded) return;
    this.#pending += `data: ${JSON.stringify(data)}\n\n`;
    const now = performance.now();
    if (now - this.#lastWrite >= COALESCE_MS) {
      this.#flush();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#flush();
      }, COALESCE_MS);
    }
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending === '' || this.#reply.raw.writableEnded) return;
    this.#reply.raw.write(this.#pending);
    this.#pending = '';
    this.#lastWrite = performance.now();
  }

  /**
   * Queues an SSE comment line (`: text`), which every SSE client ignores (the receipt goes out
   * this way, after the output and before `[DONE]`). `text` must hold no line break.
   */
  comment(text: string): void {
    if (this.#reply.raw.writableEnded) return;
    this.#pending += `: ${text}\n\n`;
  }

  /** Ends the stream without `[DONE]`, after what is queued: the answer is incomplete. */
  abort(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#reply.raw.writableEnded) return;
    this.#reply.raw.end(this.#pending);
    this.#pending = '';
  }

  /** Writes what is queued and the terminating `[DONE]` event, and ends the response. */
  done(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#reply.raw.writableEnded) return;
    this.#reply.raw.end(`${this.#pending}data: [DONE]\n\n`);
    this.#pending = '';
  }
}
