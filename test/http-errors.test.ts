/**
 * @module test/http-errors — errors raised below the routes (media type, JSON, schema, body size,
 * malformed URL) answer in the route's own shape: OpenAI's `{error:{message,type,param,code}}`
 * on `/v1/*`, RFC 6749's `{error,error_description}` elsewhere, with a message that names the
 * field, what was expected and the limit — never Fastify's wording or codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

let f: Fixture;
let auth: { authorization: string };

beforeAll(async () => {
  f = await startApp({
    config: {
      models: [
        { id: 'echo', backend: 'echo', task: 'generation' },
        { id: 'emb', backend: 'echo', task: 'embedding' },
      ],
    },
  });
  const client = await f.client({ roles: ['developer'] });
  const token = (await requestToken(f, client)).json<{ access_token: string }>().access_token;
  auth = { authorization: `Bearer ${token}` };
});

afterAll(async () => {
  await f.close();
});

const chat = (messages: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'echo', messages, ...extra });

interface Case {
  name: string;
  url: string;
  /** Media type sent; `null`: no Content-Type header at all. */
  contentType?: string | null;
  payload: string;
  status: number;
  message: string | RegExp;
  param?: string | null;
  code?: string;
}

const JSON_CASES: Case[] = [
  {
    name: 'a form-encoded body on a JSON route',
    url: '/v1/moderations',
    contentType: 'application/x-www-form-urlencoded',
    payload: 'input=hello&model=emb',
    status: 415,
    message: 'Content-Type must be application/json (got application/x-www-form-urlencoded)',
    code: 'unsupported_media_type',
  },
  {
    name: 'a text/plain body',
    url: '/v1/embeddings',
    contentType: 'text/plain',
    payload: '{"model":"emb","input":"hi"}',
    status: 415,
    message: 'Content-Type must be application/json (got text/plain)',
  },
  {
    name: 'a multipart body',
    url: '/v1/chat/completions',
    contentType: 'multipart/form-data; boundary=x',
    payload: '--x--',
    status: 415,
    message: /application\/json \(got multipart\/form-data\)/,
  },
  {
    name: 'a body without Content-Type',
    url: '/v1/embeddings',
    contentType: null,
    payload: '{"model":"emb","input":"hi"}',
    status: 415,
    message: 'Content-Type must be application/json (got none)',
  },
  {
    name: 'malformed JSON',
    url: '/v1/embeddings',
    payload: '{"model": "emb", "input": ',
    status: 400,
    message: 'The request body is not valid JSON',
    code: 'invalid_json',
  },
  {
    name: 'an empty JSON body',
    url: '/v1/embeddings',
    payload: '',
    status: 400,
    message: /empty/,
    code: 'invalid_json',
  },
  {
    name: 'too many inputs',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: Array.from({ length: 2049 }, () => 'a') }),
    status: 400,
    message: 'input must have at most 2048 items (got 2049)',
    param: 'input',
    code: 'invalid_value',
  },
  {
    name: 'an empty input array',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: [] }),
    status: 400,
    message: 'input must have at least 1 item (got 0)',
    param: 'input',
  },
  {
    name: 'an input string that is too long',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: 'x'.repeat(100_001) }),
    status: 400,
    message: 'input must be at most 100000 characters long (got 100001)',
    param: 'input',
  },
  {
    name: 'an input of the wrong type',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: 5 }),
    status: 400,
    message: 'input must be a string or an array (got an integer)',
    param: 'input',
    code: 'invalid_type',
  },
  {
    name: 'an array item of the wrong type',
    url: '/v1/moderations',
    payload: JSON.stringify({ input: ['ok', 7] }),
    status: 400,
    message: 'input[1] must be a string (got an integer)',
    param: 'input[1]',
  },
  {
    name: 'an unknown field',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: 'x', colour: 'red' }),
    status: 400,
    message: "Unrecognized request argument supplied: 'colour'",
    param: 'colour',
    code: 'unknown_parameter',
  },
  {
    name: 'a missing field',
    url: '/v1/embeddings',
    payload: JSON.stringify({ input: 'x' }),
    status: 400,
    message: "Missing required parameter: 'model'",
    param: 'model',
    code: 'missing_required_parameter',
  },
  {
    name: 'chat content of the wrong type',
    url: '/v1/chat/completions',
    payload: chat([{ role: 'user', content: 5 }]),
    status: 400,
    message: 'messages[0].content must be a string, an array or null (got an integer)',
    param: 'messages[0].content',
  },
  {
    name: 'a content part that is not text',
    url: '/v1/chat/completions',
    payload: chat([{ role: 'user', content: [{ type: 'image_url', text: 'x' }] }]),
    status: 400,
    message: 'messages[0].content[0].type must be "text"',
    param: 'messages[0].content[0].type',
  },
  {
    name: 'an unknown role',
    url: '/v1/chat/completions',
    payload: chat([{ role: 'robot', content: 'hi' }]),
    status: 400,
    message: 'messages[0].role must be one of "system", "developer", "user" or "assistant"',
    param: 'messages[0].role',
  },
  {
    name: 'a number above its maximum',
    url: '/v1/chat/completions',
    payload: chat([{ role: 'user', content: 'hi' }], { temperature: 3 }),
    status: 400,
    message: 'temperature must be at most 2 (got 3)',
    param: 'temperature',
  },
  {
    name: 'too many stop sequences',
    url: '/v1/chat/completions',
    payload: chat([{ role: 'user', content: 'hi' }], { stop: ['a', 'b', 'c', 'd', 'e'] }),
    status: 400,
    message: 'stop must have at most 4 items (got 5)',
    param: 'stop',
  },
  {
    name: 'a body that is not an object',
    url: '/v1/embeddings',
    payload: '[1, 2]',
    status: 400,
    message: 'The request body must be an object (got an array)',
    param: null,
  },
  {
    name: 'a body over the size limit',
    url: '/v1/embeddings',
    payload: JSON.stringify({ model: 'emb', input: 'x'.repeat(1_100_000) }),
    status: 413,
    message: 'The request body must be at most 1048576 bytes',
    code: 'request_too_large',
  },
];

describe('errors below the routes on /v1/* (inject)', () => {
  it.each(JSON_CASES)('$name → $status', async (c) => {
    const res = await f.app.http.inject({
      method: 'POST',
      url: c.url,
      headers: {
        ...auth,
        ...(c.contentType === null ? {} : { 'content-type': c.contentType ?? 'application/json' }),
      },
      payload: c.payload,
    });
    expect(res.statusCode).toBe(c.status);
    const body = res.json<{ error: Record<string, unknown> }>();
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.type).toBe('invalid_request_error');
    if (typeof c.message === 'string') expect(body.error.message).toBe(c.message);
    else expect(body.error.message).toMatch(c.message);
    if (c.param !== undefined) expect(body.error.param).toBe(c.param);
    if (c.code !== undefined) expect(body.error.code).toBe(c.code);
    expect(res.body).not.toMatch(/fst_err|body\/|must NOT|anyOf/i);
  });

  it('answers a malformed URL with 400 in the OpenAI shape', async () => {
    const res = await f.app.http.inject({ method: 'GET', url: '/v1/models/%zz', headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        message: 'The URL is malformed (invalid percent-encoding)',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_url',
      },
    });
  });
});

describe('errors below the routes elsewhere: RFC 6749 shape', () => {
  it('answers a malformed URL with 400 invalid_request', async () => {
    const res = await f.app.http.inject({ method: 'GET', url: '/.well-known/%zz' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'The URL is malformed (invalid percent-encoding)',
    });
  });

  it('keeps form bodies on the token endpoint', async () => {
    const client = await f.client();
    expect((await requestToken(f, client)).statusCode).toBe(200);
  });

  it('refuses a JSON body at the token endpoint as invalid_request', async () => {
    const res = await f.app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type":"client_credentials"}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: string }>().error).toBe('invalid_request');
  });
});
