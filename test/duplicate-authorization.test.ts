/**
 * Two Authorization headers over a real socket. Node's http parser keeps only the first (it
 * drops duplicates of `authorization`), so without a look at the raw headers the first would
 * silently win: protected routes answer 400 invalid_request in RFC 6750 form, the OAuth
 * endpoints 400 invalid_request in RFC 6749 form.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, form, requestToken, startApp, type Fixture } from './support/app-fixture.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends `headers` as given: an array value becomes that many header lines. */
function send(
  f: Fixture,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(`${f.base}${path}`, { method, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('two Authorization headers', () => {
  let f: Fixture;
  let client: { id: string; secret: string };
  let token: string;

  beforeAll(async () => {
    f = await startApp({ listen: true });
    client = await f.client();
    token = (await requestToken(f, client)).json<{ access_token: string }>().access_token;
  });
  afterAll(async () => {
    await f.close();
  });

  it('one valid bearer header works (the baseline)', async () => {
    const res = await send(f, 'GET', '/v1/models', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
  });

  it.each([
    ['a valid token first', () => [`Bearer ${token}`, 'Bearer garbage']],
    ['a valid token second', () => ['Bearer garbage', `Bearer ${token}`]],
    ['the same token twice', () => [`Bearer ${token}`, `Bearer ${token}`]],
  ])('are refused on a protected route (%s)', async (_, values) => {
    const res = await send(f, 'GET', '/v1/models', { authorization: values() });
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_request"/);
    expect(JSON.parse(res.body)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_request' },
    });
    expect(res.body).not.toContain(token);
  });

  it.each(['/oauth/token', '/oauth/introspect', '/oauth/revoke'])(
    'are refused at %s with RFC 6749 invalid_request',
    async (path) => {
      const params =
        path === '/oauth/token' ? { grant_type: 'client_credentials' } : { token: 'x' };
      const res = await send(
        f,
        'POST',
        path,
        {
          authorization: [basic(client.id, client.secret), basic(client.id, 'wrong')],
          'content-type': 'application/x-www-form-urlencoded',
        },
        form(params),
      );
      expect(res.status).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(res.body)).toEqual({
        error: 'invalid_request',
        error_description: 'more than one Authorization header',
      });
    },
  );
});
