/**
 * The OpenAI-compatible inference API through inject(), on the deterministic echo backend:
 * shapes, usage, streaming, error statuses, scopes, queue limits and cancellation.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

const TINY_BERT = join(import.meta.dirname, '../../shared/models/onnx-tiny-bert');
const haveBert = existsSync(TINY_BERT);
if (!haveBert) console.warn(`inference-api: onnx tests skipped (${TINY_BERT} not present)`);

const MODELS = [
  ...(haveBert ? [{ id: 'tiny-bert', backend: 'onnx', path: TINY_BERT, task: 'embedding' }] : []),
  { id: 'echo-chat', backend: 'echo', task: 'generation', slots: 1, maxQueue: 2 },
  { id: 'echo-slow', backend: 'echo', task: 'generation', slots: 1, maxQueue: 1, delayMs: 20 },
  { id: 'echo-embed', backend: 'echo', task: 'embedding', maxInputTokens: 50 },
  { id: 'broken', backend: 'onnx', path: '/nonexistent/model' },
];

let f: Fixture;
let token: string;

beforeAll(async () => {
  // tiny-bert and `broken` name folders without a sha256: served unpinned, as the option allows.
  f = await startApp({ config: { models: MODELS, registry: { requireDigest: false } } });
  const client = await f.client({ roles: ['developer'] });
  token = (await requestToken(f, client)).json<{ access_token: string }>().access_token;
});

afterAll(async () => {
  await f.close();
});

function post(url: string, payload: unknown, auth = `Bearer ${token}`) {
  return f.app.http.inject({
    method: 'POST',
    url,
    headers: {
      ...(auth === '' ? {} : { authorization: auth }),
      'content-type': 'application/json',
    },
    payload: JSON.stringify(payload),
  });
}

interface SseEvent {
  data: string;
}
function events(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => ({ data: b.slice('data: '.length) }));
}

describe('GET /v1/models', () => {
  it('lists served models with their task and load facts; a failed model is not listed', async () => {
    const res = await f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      data: { id: string; object: string; gatehouse: { task: string } }[];
    }>();
    const ids = body.data.map((m) => m.id).filter((id) => id !== 'tiny-bert');
    expect(ids).toEqual(['echo-chat', 'echo-slow', 'echo-embed']);
    expect(body.data.find((m) => m.id === 'echo-embed')).toMatchObject({
      object: 'model',
      owned_by: 'gatehouse',
      gatehouse: { task: 'embedding', dimensions: 64 },
    });
  });

  it('answers 404 for an unknown model and 503 for one that failed to load', async () => {
    const get = (id: string) =>
      f.app.http.inject({
        method: 'GET',
        url: `/v1/models/${id}`,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await get('nope')).statusCode).toBe(404);
    expect((await get('broken')).statusCode).toBe(503);
    expect((await get('echo-embed')).json()).toMatchObject({ id: 'echo-embed' });
  });
});

describe('POST /v1/embeddings', () => {
  it('embeds a string and an array, in order, with usage', async () => {
    const one = await post('/v1/embeddings', { model: 'echo-embed', input: 'hello there' });
    expect(one.statusCode).toBe(200);
    const b1 = one.json<{
      data: { embedding: number[]; index: number }[];
      usage: { prompt_tokens: number };
    }>();
    expect(b1.data).toHaveLength(1);
    expect(b1.data[0]?.embedding).toHaveLength(64);
    expect(b1.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    const many = await post('/v1/embeddings', {
      model: 'echo-embed',
      input: ['a', 'hello there', 'b'],
    });
    const b2 = many.json<{ data: { embedding: number[]; index: number }[] }>();
    expect(b2.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(b2.data[1]?.embedding).toEqual(b1.data[0]?.embedding);
  });

  it('encodes base64 float32 and truncates to `dimensions` with unit norm', async () => {
    const res = await post('/v1/embeddings', {
      model: 'echo-embed',
      input: 'x',
      encoding_format: 'base64',
      dimensions: 8,
    });
    const b64 = res.json<{ data: { embedding: string }[] }>().data[0]?.embedding ?? '';
    const buf = Buffer.from(b64, 'base64');
    const v = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    expect(v).toHaveLength(8);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(
      (await post('/v1/embeddings', { model: 'echo-embed', input: 'x', dimensions: 65 }))
        .statusCode,
    ).toBe(400);
  });

  it.each([
    [{ model: 'echo-embed' }, 400],
    [{ model: 'echo-embed', input: [] }, 400],
    [{ model: 'echo-embed', input: [1, 2] }, 400],
    [{ model: 'echo-embed', input: 'x', extra: 1 }, 400],
    [{ model: 'nope', input: 'x' }, 404],
    [{ model: 'broken', input: 'x' }, 503],
    [{ model: 'echo-chat', input: 'x' }, 400],
    [{ model: 'echo-embed', input: 'word '.repeat(51) }, 413],
  ])('answers %j with %i in the OpenAI error shape', async (payload, status) => {
    const res = await post('/v1/embeddings', payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({
      error: { message: expect.any(String), type: expect.any(String) },
    });
  });

  it.skipIf(!haveBert)(
    "refuses an input longer than the model's own window with 413 instead of cutting it",
    async () => {
      const ok = await post('/v1/embeddings', { model: 'tiny-bert', input: 'a short sentence' });
      expect(ok.statusCode).toBe(200);
      const long = await post('/v1/embeddings', { model: 'tiny-bert', input: 'word '.repeat(300) });
      expect(long.statusCode).toBe(413);
      expect(long.json()).toMatchObject({
        error: { message: expect.stringMatching(/at most 128/) },
      });
    },
  );

  it('refuses malformed JSON with 400 and an oversized body with 413', async () => {
    const bad = await f.app.http.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"model": ',
    });
    expect(bad.statusCode).toBe(400);
    const big = await post('/v1/embeddings', { model: 'echo-embed', input: 'x'.repeat(1_100_000) });
    expect(big.statusCode).toBe(413);
  });
});

describe('POST /v1/chat/completions and /v1/completions', () => {
  it('answers a chat request in the OpenAI shape with usage', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'echo-chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'one two three' },
      ],
      temperature: 0,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'echo-chat',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'one two three' },
          finish_reason: 'stop',
        },
      ],
      usage: { completion_tokens: 3 },
    });
    expect(String(body.id)).toMatch(/^chatcmpl-/);
  });

  it('stops at max_tokens (finish_reason length) and at a stop sequence', async () => {
    const long = await post('/v1/chat/completions', {
      model: 'echo-chat',
      messages: [{ role: 'user', content: 'a b c d e f' }],
      max_completion_tokens: 2,
    });
    expect(long.json()).toMatchObject({
      choices: [{ message: { content: 'a b' }, finish_reason: 'length' }],
    });
    const stopped = await post('/v1/completions', {
      model: 'echo-chat',
      prompt: 'red green STOP blue',
      stop: 'STOP',
    });
    expect(stopped.json()).toMatchObject({
      object: 'text_completion',
      choices: [{ text: 'red green ', finish_reason: 'stop' }],
    });
  });

  it('streams chat chunks as server-sent events ending in [DONE], with usage when asked', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'echo-chat',
      messages: [{ role: 'user', content: 'alpha beta gamma' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const ev = events(res.body);
    expect(ev.at(-1)?.data).toBe('[DONE]');
    interface Chunk {
      choices: { delta?: { content?: string } }[];
    }
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e.data) as Chunk);
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [{ delta: { role: 'assistant' } }],
    });
    const text = chunks
      .flatMap((c: { choices: { delta?: { content?: string } }[] }) =>
        c.choices.map((x) => x.delta?.content ?? ''),
      )
      .join('');
    expect(text).toBe('alpha beta gamma');
    expect(chunks.at(-2)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
  });

  it.each([
    [{ model: 'echo-chat', messages: [] }, 400],
    [{ model: 'echo-chat', messages: [{ role: 'wizard', content: 'x' }] }, 400],
    [{ model: 'echo-chat', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, 400],
    [{ model: 'echo-chat', messages: [{ role: 'user', content: 'x' }], n: 2 }, 400],
    [{ model: 'echo-embed', messages: [{ role: 'user', content: 'x' }] }, 400],
    [{ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, 404],
  ])('answers %j with %i', async (payload, status) => {
    const res = await post('/v1/chat/completions', payload);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toHaveProperty('error.message');
  });

  it('rejects at once with 429 and Retry-After when the queue is full', async () => {
    const slow = (content: string) =>
      post('/v1/chat/completions', { model: 'echo-slow', messages: [{ role: 'user', content }] });
    const results = await Promise.all([slow('a b c d e'), slow('a b c d e'), slow('a b c d e')]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 429]);
    const refused = results.find((r) => r.statusCode === 429);
    expect(refused?.headers['retry-after']).toBe('1');
    expect(refused?.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
  });
});

describe('authorization', () => {
  it('requires a token and the inference:invoke scope', async () => {
    expect((await post('/v1/embeddings', { model: 'echo-embed', input: 'x' }, '')).statusCode).toBe(
      401,
    );
    const auditor = await f.client({ roles: ['auditor'] });
    const t = (await requestToken(f, auditor)).json<{ access_token: string }>().access_token;
    const res = await post(
      '/v1/chat/completions',
      { model: 'echo-chat', messages: [{ role: 'user', content: 'x' }] },
      `Bearer ${t}`,
    );
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toContain('scope="inference:invoke"');
  });
});
