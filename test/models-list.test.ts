/**
 * @module test/models-list.test — `GET /v1/models` lists every servable model, the few-shot
 * classifiers included, with what each does; `GET /v1/models/{id}` answers for a classifier
 * too. The classifiers run on the deterministic echo embedding model (no USE-lite load).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken, startApp, type Fixture } from './support/app-fixture.js';

let f: Fixture;
let token: string;

beforeAll(async () => {
  f = await startApp({
    config: {
      models: [
        { id: 'echo-embed', backend: 'echo', task: 'embedding' },
        { id: 'echo-chat', backend: 'echo', task: 'generation' },
      ],
      inference: {
        moderation: { model: 'echo-embed', threshold: 0.6 },
        promptInjection: { model: 'echo-embed' },
      },
    },
  });
  const client = await f.client({ roles: ['developer'] });
  token = (await requestToken(f, client)).json<{ access_token: string }>().access_token;
});

afterAll(() => f.close());

interface Entry {
  id: string;
  object: string;
  created: number;
  owned_by: string;
  gatehouse: Record<string, unknown>;
}

const get = (url: string) =>
  f.app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

describe('GET /v1/models', () => {
  it('lists the configured models and the classifiers, in the OpenAI shape', async () => {
    const res = await get('/v1/models');
    expect(res.statusCode).toBe(200);
    const body = res.json<{ object: string; data: Entry[] }>();
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id)).toEqual([
      'echo-embed',
      'echo-chat',
      'moderation',
      'prompt-injection',
    ]);
    for (const m of body.data) {
      expect(m).toMatchObject({ object: 'model', owned_by: 'gatehouse' });
      expect(Number.isInteger(m.created)).toBe(true);
      expect(typeof m.gatehouse.description).toBe('string');
    }
  });

  it('says what each model does and which endpoints accept it', async () => {
    const data = (await get('/v1/models')).json<{ data: Entry[] }>().data;
    const byId = new Map(data.map((m) => [m.id, m.gatehouse]));
    expect(byId.get('echo-embed')).toMatchObject({
      task: 'embedding',
      endpoints: ['/v1/embeddings'],
    });
    expect(byId.get('echo-chat')).toMatchObject({
      task: 'generation',
      endpoints: ['/v1/chat/completions', '/v1/completions'],
    });
    expect(byId.get('moderation')).toMatchObject({
      task: 'classification',
      built_on: 'echo-embed',
      method: 'head',
      threshold: 0.6,
      fallback_label: 'safe',
      labels: ['harassment', 'hate', 'self-harm', 'sexual', 'violence', 'illicit', 'safe'],
      endpoints: ['/v1/moderations'],
    });
    expect(byId.get('moderation')?.description).toMatch(/moderation.*flags harassment, hate/i);
    expect(byId.get('prompt-injection')).toMatchObject({
      task: 'classification',
      built_on: 'echo-embed',
      threshold: 0.5,
      fallback_label: 'benign',
      labels: ['injection', 'benign'],
      endpoints: ['/v1/moderations'],
    });
    expect(byId.get('prompt-injection')?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers GET /v1/models/{id} for a classifier as for any model', async () => {
    const res = await get('/v1/models/prompt-injection');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: 'prompt-injection', object: 'model' });
    expect((await get('/v1/models/echo-chat')).json()).toMatchObject({ id: 'echo-chat' });
    expect((await get('/v1/models/nope')).statusCode).toBe(404);
  });

  it('lists what /v1/moderations accepts: every listed classifier answers there', async () => {
    const data = (await get('/v1/models')).json<{ data: Entry[] }>().data;
    const moderators = data.filter((m) =>
      (m.gatehouse.endpoints as string[]).includes('/v1/moderations'),
    );
    expect(moderators.map((m) => m.id)).toEqual(['moderation', 'prompt-injection']);
    for (const m of moderators) {
      const res = await f.app.http.inject({
        method: 'POST',
        url: '/v1/moderations',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ model: m.id, input: 'hello' }),
      });
      expect(res.statusCode, m.id).toBe(200);
    }
  });
});
