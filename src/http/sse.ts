/**
 * @module http/sse — server-sent events for streamed completions (OpenAI wire format: one
 * `data: <json>` event per chunk, `data: [DONE]` at the end), and cancellation when the client
 * goes away.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An AbortSignal that fires when the client disconnects before the response is finished. */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) ac.abort();
  };
  reply.raw.once('close', onClose);
  request.raw.once('aborted', onClose);
  return ac.signal;
}

/** A started event stream: headers are sent on `open()`, so errors before it stay plain HTTP. */
export class EventStream {
  readonly #reply: FastifyReply;
  #open = false;

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
    this.#reply.hijack();
    this.#reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  }

  /** Writes one event carrying `data` as JSON. */
  send(data: unknown): void {
    if (!this.#reply.raw.writableEnded) this.#reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes the terminating `[DONE]` event and ends the response. */
  done(): void {
    if (this.#reply.raw.writableEnded) return;
    this.#reply.raw.end('data: [DONE]\n\n');
  }
}
