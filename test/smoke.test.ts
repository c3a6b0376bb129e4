import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

describe('quick start flow', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startApp();
  });
  afterAll(async () => {
    await f.close();
  });

  it('issues a token with client_credentials and accepts it on a protected route', async () => {
    const { id, secret } = await f.client({ roles: ['developer'] });
    const res = await requestToken(f, { id, secret });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{
      access_token: string;
      token_type: string;
      expires_in: number;
      scope: string;
    }>();
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(600);
    expect(body.scope).toBe('inference:invoke models:read usage:read');
    const models = await f.app.http.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(models.statusCode).toBe(200);
    expect(models.json()).toEqual({ object: 'list', data: [] });
  });

  it('refuses a protected route without a token, with a bare Bearer challenge', async () => {
    const res = await f.app.http.inject({ method: 'GET', url: '/v1/models' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });
});
