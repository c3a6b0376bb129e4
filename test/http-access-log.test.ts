/**
 * @module test/http-access-log — one log line per request at info: request id, method, path
 * without its query string, status and milliseconds; none of Fastify's own two lines; request ids
 * and response ids unique; a streamed request whose client went away still gets its line (499).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/lib/logger.js';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  url?: string;
  status?: number;
  ms?: number;
}

const lines: Line[] = [];
let f: Fixture;
let token: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  f = await startApp({
    listen: true,
    config: {
      models: [{ id: 'echo', backend: 'echo', task: 'generation', delayMs: 50 }],
    },
    overrides: { logger: createLogger('info', sink) },
  });
  const client = await f.client({ roles: ['developer'] });
  token = (await requestToken(f, client)).json<{ access_token: string }>().access_token;
});
beforeEach(() => {
  lines.length = 0;
});
afterAll(async () => {
  await f.close();
});

const chat = (content: string, stream = false) =>
  f.app.http.inject({
    method: 'POST',
    url: '/v1/chat/completions?trace=secret-looking-thing',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content }], stream }),
  });

describe('access log', () => {
  it('writes exactly one line per request, without the query string or the prompt', async () => {
    const res = await chat('hello there');
    expect(res.statusCode).toBe(200);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      method: 'POST',
      url: '/v1/chat/completions',
      status: 200,
      reqId: expect.any(String),
      ms: expect.any(Number),
    });
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/secret-looking-thing|hello there|Bearer/);
  });

  it('logs refusals in the same one line (plus the reason), with the status', async () => {
    const res = await f.app.http.inject({ method: 'GET', url: '/v1/models' });
    expect(res.statusCode).toBe(401);
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toEqual([expect.objectContaining({ status: 401, url: '/v1/models' })]);
    expect(lines.some((l) => /incoming request|request completed/.test(l.msg))).toBe(false);
  });

  it('gives every request and every response its own id', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => chat('hi')));
    const ids = answers.map((a) => a.json<{ id: string }>().id);
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^chatcmpl-[A-Za-z0-9_-]{13,}$/);
    const reqIds = lines.map((l) => l.reqId);
    expect(new Set(reqIds).size).toBe(20);
  });

  it('logs a streamed request whose client went away as 499', async () => {
    const ac = new AbortController();
    const res = await fetch(`${f.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'echo',
        messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }],
        stream: true,
      }),
      signal: ac.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read();
    ac.abort();
    await expect.poll(() => lines.filter((l) => l.msg === 'request').length).toBe(1);
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ status: 499 });
  });
});
