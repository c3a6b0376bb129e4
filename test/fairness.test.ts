/**
 * Fair scheduling of embedding and moderation work through the real app (issue 7): while one
 * identity sends 2,048-input requests, another identity's one-line requests are answered (no
 * 429) and finish first; a big request whose client leaves, or whose deadline passes, frees the
 * model at once. The backend is the echo embedder made slow (each batch waits a few ms), so
 * the assertions are about order and outcome, never about time.
 */
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel as echo } from '../src/inference/backends/echo.js';
import type { LoadModel } from '../src/inference/index.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

/** Every batch the embedding backend ran, as the first letter of each input. */
const batches: string[][] = [];

/**
 * The echo backend, but an embedding batch waits: BATCH_MS when the gate is open, or until the
 * test lets it go (`step`, `open`) while the gate is held.
 */
const BATCH_MS = 2;
const gate = { held: false, waiting: [] as (() => void)[] };
function hold(): void {
  gate.held = true;
}
/** Lets the oldest held batch finish. */
function step(): void {
  gate.waiting.shift()?.();
}
/** Opens the gate: held batches finish, later ones only take BATCH_MS. */
function open(): void {
  gate.held = false;
  for (const go of gate.waiting.splice(0)) go();
}
const slowEcho: LoadModel<'echo'> = async (spec) => {
  const handle = await echo(spec);
  if (handle.task !== 'embedding') return handle;
  return {
    ...handle,
    embed: async (texts) => {
      batches.push(texts.map((t) => t.slice(0, 1)));
      if (gate.held) await new Promise<void>((resolve) => gate.waiting.push(resolve));
      else await sleep(BATCH_MS);
      return handle.embed(texts);
    },
  };
};

const MODELS = [
  { id: 'embed', backend: 'echo', task: 'embedding' },
  { id: 'embed-100ms', backend: 'echo', task: 'embedding', timeoutMs: 100 },
  { id: 'chat', backend: 'echo', task: 'generation' },
];

let f: Fixture;
const tokens = new Map<string, string>();

beforeAll(async () => {
  f = await startApp({
    listen: true,
    config: {
      models: MODELS,
      inference: { moderation: { model: 'embed' }, promptInjection: null },
    },
    overrides: { loaders: { echo: slowEcho } },
  });
  // Building the moderation classifier embedded its examples through the same backend.
  batches.length = 0;
  for (const who of ['A', 'B', 'C']) {
    const client = await f.client({ name: who, roles: ['developer'] });
    const res = await requestToken(f, client);
    tokens.set(who, res.json<{ access_token: string }>().access_token);
  }
});

afterAll(async () => {
  await f.close();
});

function post(who: string, url: string, payload: unknown) {
  return f.app.http.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${tokens.get(who) ?? ''}` },
    payload: payload as Record<string, unknown>,
  });
}

/** `n` inputs starting with `letter` (each its own word, so each is one echo token). */
const many = (letter: string, n: number) => Array.from({ length: n }, (_, i) => `${letter}${i}`);

/** Resolves once the backend has run a batch containing an input of `letter`. */
async function seen(letter: string): Promise<void> {
  while (!batches.some((b) => b.includes(letter))) await sleep(1);
}

/** Resolves once the model `id` has `n` inputs waiting. */
async function queued(id: string, n: number): Promise<void> {
  const model = f.app.inference.served.get(id);
  while (model.batcher?.queued !== n) await sleep(1);
}

describe('fair embedding queue', () => {
  afterEach(open);

  it("answers B's one-line requests with 200, each in the batch after A's, before A's 2,048-input request", async () => {
    const order: string[] = [];
    const track = async (name: string, p: ReturnType<typeof post>) => {
      const res = await p;
      order.push(name);
      return res;
    };
    hold();
    const big = track('A', post('A', '/v1/embeddings', { model: 'embed', input: many('a', 2048) }));
    await seen('a');
    const embed = f.app.inference.served.get('embed');
    const small: Awaited<ReturnType<typeof post>>[] = [];
    const oneLine = async (name: string, url: string, payload: unknown) => {
      const before = embed.batcher?.queued ?? 0;
      const reply = track(name, post(name.slice(0, 1), url, payload));
      await queued('embed', before + 1); // its input waits behind A's running batch
      const ran = batches.length;
      step(); // A's running batch finishes; the next one holds the one-liner
      await sleep(0);
      expect(batches[ran]).toContain(name.slice(0, 1).toLowerCase());
      while (!order.includes(name)) {
        step();
        await sleep(1);
      }
      small.push(await reply);
    };
    for (let i = 0; i < 4; i++)
      await oneLine(`B${i}`, '/v1/embeddings', { model: 'embed', input: 'b' });
    // Moderation embeds through the same fair queue, as its caller.
    await oneLine('C', '/v1/moderations', { input: 'c hello' });
    open();
    const res = await big;
    expect(small.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ data: unknown[] }>().data).toHaveLength(2048);
    expect(order).toEqual(['B0', 'B1', 'B2', 'B3', 'C', 'A']);
  });
});

describe('a big request that is abandoned', () => {
  afterEach(open);

  it('leaves the queue when its client disconnects: the model serves the next caller at once', async () => {
    hold();
    const body = JSON.stringify({ model: 'embed', input: many('d', 2048) });
    const req = httpRequest(`${f.base}/v1/embeddings`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.get('A') ?? ''}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.on('error', () => undefined);
    req.end(body);
    await seen('d');
    req.destroy();
    // The server drops the 2,016 inputs still queued as soon as it sees the client leave.
    await queued('embed', 0);
    open();
    const res = await post('B', '/v1/embeddings', { model: 'embed', input: 'e' });
    expect(res.statusCode).toBe(200);
    // Only the batch that was running when the client left held its inputs.
    expect(batches.filter((b) => b.includes('d'))).toHaveLength(1);
    expect(batches.at(-1)).toEqual(['e']);
  });

  it('fails with 504 when its deadline passes mid-way and frees the rest of its inputs', async () => {
    hold(); // its first batch never finishes before the 100 ms deadline
    const res = await post('A', '/v1/embeddings', { model: 'embed-100ms', input: many('g', 2048) });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({
      error: { code: 'deadline_exceeded', type: 'timeout_error' },
    });
    expect(f.app.inference.served.get('embed-100ms').batcher?.queued).toBe(0);
    open();
    const next = await post('B', '/v1/embeddings', { model: 'embed-100ms', input: 'h' });
    expect(next.statusCode).toBe(200);
    expect(batches.filter((b) => b.includes('g'))).toHaveLength(1);
    expect(batches.at(-1)).toEqual(['h']);
  });
});

describe('a model that does not do the job asked', () => {
  it.each([
    [
      '/v1/chat/completions',
      { model: 'embed', messages: [{ role: 'user', content: 'x' }] },
      /The model 'embed' serves embeddings, not chat completions; models for chat completions: chat/,
    ],
    [
      '/v1/completions',
      { model: 'embed', prompt: 'x' },
      /serves embeddings, not text completions; models for text completions: chat/,
    ],
    [
      '/v1/embeddings',
      { model: 'chat', input: 'x' },
      /The model 'chat' serves text generation, not embeddings; models for embeddings: embed, embed-100ms/,
    ],
    [
      '/v1/chat/completions',
      { model: 'moderation', messages: [{ role: 'user', content: 'x' }] },
      /The model 'moderation' serves moderation, not chat completions/,
    ],
    [
      '/v1/embeddings',
      { model: 'moderation', input: 'x' },
      /The model 'moderation' serves moderation, not embeddings/,
    ],
    [
      '/v1/moderations',
      { model: 'embed', input: 'x' },
      /The model 'embed' serves embeddings, not moderation; models for moderation: moderation/,
    ],
    ['/v1/moderations', { model: 'chat', input: 'x' }, /serves text generation, not moderation/],
  ])(
    '%s %j answers 400 invalid_request_error naming what the model does',
    async (url, body, message) => {
      const res = await post('B', url, body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: {
          type: 'invalid_request_error',
          code: 'model_task_mismatch',
          message: expect.stringMatching(message),
        },
      });
    },
  );

  it('still answers 404 for a model that does not exist', async () => {
    const res = await post('B', '/v1/moderations', { model: 'nope', input: 'x' });
    expect(res.statusCode).toBe(404);
  });
});
