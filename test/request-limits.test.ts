/**
 * Request-shape limits per role (policy `dataControls`): messages per chat, prompt tokens by the
 * model's own tokenizer, the `max_tokens` cap, inputs and characters per embeddings request —
 * each refusal naming the limit and its value; a caller gets its most permissive role's limits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import { startApp, type Fixture } from './support/app-fixture.js';
import { writePolicy } from './support/policy-fixture.js';

const POLICY = `${builtinPolicyText()}  tester:
    scopes: [inference:invoke]
    models: ["*"]
    dataControls:
      systemMessages: allow
      maxMessages: 2
      maxPromptTokens: 6
      maxTokens: 3
      maxInputs: 2
      maxInputChars: 20
`;

describe('request limits per role', () => {
  let f: Fixture;
  const dir = mkdtempSync(join(tmpdir(), 'gh-limits-'));
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    f = await startApp({
      config: {
        models: [
          { id: 'chat', backend: 'echo', task: 'generation' },
          { id: 'embed', backend: 'echo', task: 'embedding' },
        ],
        policy: { file: writePolicy(dir, POLICY) },
      },
    });
    for (const roles of [['tester'], ['tester', 'developer']]) {
      const { token } = await f.app.auth.issuer.issue({
        subject: roles.join('+'),
        clientId: 'gh_limits',
        scopes: ['inference:invoke'],
        roles,
        ttl: 300,
      });
      tokens.set(roles.join('+'), token);
    }
  });
  afterAll(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (who: string, url: string, payload: Record<string, unknown>) =>
    f.app.http.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${tokens.get(who) ?? ''}` },
      payload,
    });
  const message = (res: { json: () => unknown }) =>
    (res.json() as { error: { message: string } }).error.message;
  const user = (content: string) => ({ role: 'user', content });

  it('refuses more messages than maxMessages with 400 naming the limit', async () => {
    const res = await post('tester', '/v1/chat/completions', {
      model: 'chat',
      messages: [user('a'), user('b'), user('c')],
    });
    expect(res.statusCode).toBe(400);
    expect(message(res)).toBe(
      'This chat has 3 messages; your policy allows at most 2 (dataControls.maxMessages)',
    );
  });

  it('refuses a prompt beyond maxPromptTokens (the model’s own count) with 413', async () => {
    const res = await post('tester', '/v1/completions', {
      model: 'chat',
      prompt: 'one two three four five six seven eight',
    });
    expect(res.statusCode).toBe(413);
    expect(message(res)).toMatch(
      /^The prompt has \d+ tokens; your policy allows at most 6 \(dataControls\.maxPromptTokens\)$/,
    );
    const ok = await post('tester', '/v1/completions', { model: 'chat', prompt: 'one two' });
    expect(ok.statusCode).toBe(200);
  });

  it('lowers max_tokens to the cap instead of refusing', async () => {
    // The echo model repeats the prompt's five words unless stopped at max_tokens.
    const res = await post('tester', '/v1/completions', {
      model: 'chat',
      prompt: 'one two three four five',
      max_tokens: 50,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      usage: { completion_tokens: number };
      choices: { finish_reason: string }[];
    }>();
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0]?.finish_reason).toBe('length');
  });

  it('refuses too many embedding inputs (400) and too many characters (413)', async () => {
    const many = await post('tester', '/v1/embeddings', { model: 'embed', input: ['a', 'b', 'c'] });
    expect(many.statusCode).toBe(400);
    expect(message(many)).toBe(
      'This request has 3 inputs; your policy allows at most 2 (dataControls.maxInputs)',
    );
    const long = await post('tester', '/v1/embeddings', { model: 'embed', input: 'x'.repeat(21) });
    expect(long.statusCode).toBe(413);
    expect(message(long)).toBe(
      'The inputs have 21 characters; your policy allows at most 20 (dataControls.maxInputChars)',
    );
    expect(
      (await post('tester', '/v1/embeddings', { model: 'embed', input: ['ab', 'cd'] })).statusCode,
    ).toBe(200);
  });

  it('gives a caller the most permissive of its roles (developer has no limits)', async () => {
    const res = await post('tester+developer', '/v1/chat/completions', {
      model: 'chat',
      messages: [user('a'), user('b'), user('c')],
      max_tokens: 8,
    });
    expect(res.statusCode).toBe(200);
    const embed = await post('tester+developer', '/v1/embeddings', {
      model: 'embed',
      input: ['a', 'b', 'c'],
    });
    expect(embed.statusCode).toBe(200);
  });
});
