/**
 * The registry's deploy and rollback over the HTTP API of a running server, under concurrent
 * chat load on the model being switched: no request fails, each is answered whole by one
 * version, and after the switch new requests get the version it made active. Echo versions
 * differ by their context window, so an answer shows which version wrote it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

const WORDS = Array.from({ length: 30 }, (_, i) => `w${String(i)}`).join(' ');

describe('deploy and rollback through /v1/registry under load', () => {
  let f: Fixture;
  let engineer: string;
  let admin: string;
  const developers: string[] = [];

  const token = async (name: string, roles: string[]) =>
    (await requestToken(f, await f.client({ name, roles }))).json<{ access_token: string }>()
      .access_token;

  const api = async (tokenValue: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${f.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokenValue}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** Proposes, approves (another identity) and returns the number of an echo version. */
  async function version(contextSize: number): Promise<number> {
    const bytes = Buffer.from(`echo weights, context ${String(contextSize)}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const put = await fetch(`${f.base}/v1/registry/blobs/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${engineer}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect([200, 201]).toContain(put.status);
    const p = await api(engineer, 'POST', '/v1/registry/models/chat/versions', {
      backend: 'echo',
      task: 'generation',
      sha256,
      params: { slots: 2, delayMs: 2, contextSize },
    });
    expect(p.status).toBe(201);
    const n = p.body.version as number;
    const a = await api(
      admin,
      'POST',
      `/v1/registry/models/chat/versions/${String(n)}/approve`,
      {},
    );
    expect(a.status).toBe(200);
    return n;
  }

  async function chat(i: number): Promise<number> {
    const res = await fetch(`${f.base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${developers[i % developers.length] ?? ''}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'chat',
        messages: [{ role: 'user', content: WORDS }],
        max_tokens: 30,
      }),
    });
    if (res.status !== 200) return -res.status;
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    return (body.choices[0]?.message.content ?? '').split(' ').length;
  }

  /**
   * 24 chat requests at once on a model with two slots (so most of them wait in its queue), and
   * `change` started once they are all in: every answer's word count, and the change's response.
   */
  async function underLoad(
    change: () => Promise<{ status: number; body: Record<string, unknown> }>,
  ) {
    let answered = 0;
    const requests = Array.from({ length: 24 }, (_, i) =>
      chat(i).finally(() => {
        answered++;
      }),
    );
    const slots = () => f.app.inference.served.get('chat').slots;
    while ((slots()?.busy ?? 0) + (slots()?.waiting ?? 0) + answered < 24)
      await new Promise((r) => setTimeout(r, 2));
    const inFlight = 24 - answered;
    const res = await change();
    return { words: await Promise.all(requests), res, inFlight };
  }

  beforeAll(async () => {
    f = await startApp({
      listen: true,
      realClock: true,
      config: { models: [{ id: 'chat', backend: 'echo', slots: 2, delayMs: 2 }] },
    });
    engineer = await token('eng', ['ml-engineer']);
    admin = await token('admin', ['admin']);
    for (let i = 0; i < 4; i++) developers.push(await token(`dev-${String(i)}`, ['developer']));
  });

  afterAll(async () => {
    await f.close();
  });

  it('switches versions while requests run, and none fails', async () => {
    // version 1 answers at most 10 words of the 30 (a 40-token window), version 2 at most 20
    const v1 = await version(40);
    const v2 = await version(50);
    expect(
      (await api(admin, 'POST', '/v1/registry/models/chat/deploy', { version: v1 })).status,
    ).toBe(200);
    expect(await chat(0)).toBe(10);

    const up = await underLoad(() =>
      api(admin, 'POST', '/v1/registry/models/chat/deploy', { version: v2 }),
    );
    expect(up.res.status).toBe(200);
    expect(up.inFlight).toBeGreaterThan(0);
    // Requests in flight finish on version 1; none fails, none is cut.
    for (const words of up.words) expect([10, 20]).toContain(words);
    expect(up.words).toContain(10);
    expect(await chat(1)).toBe(20);

    const down = await underLoad(() => api(admin, 'POST', '/v1/registry/models/chat/rollback'));
    expect(down.res.status).toBe(200);
    expect(down.res.body).toMatchObject({ kind: 'rollback', version: v1, previous_version: v2 });
    expect(down.inFlight).toBeGreaterThan(0);
    for (const words of down.words) expect([10, 20]).toContain(words);
    expect(down.words).toContain(20);
    expect(await chat(2)).toBe(10);
  });
});
