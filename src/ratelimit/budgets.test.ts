/** @module ratelimit/budgets.test — which budgets a request counts against, and their keys. */
import { describe, expect, it } from 'vitest';
import type { LimitsSpec } from '../policy/index.js';
import { budgetsFor, shortHash, usageBudgets } from './budgets.js';

const who = { sub: 'alice', clientId: 'app-1' };

describe('budgetsFor', () => {
  it('has no budget when no limit is set', () => {
    expect(budgetsFor({ ...who, model: 'echo', limits: { models: {} } })).toEqual([]);
  });

  it('holds every top-level limit for the subject, then the client, over all models', () => {
    const limits: LimitsSpec = {
      requestsPerMinute: 60,
      tokensPerMinute: 1000,
      tokensPerDay: 50_000,
      concurrentRequests: 2,
      models: {},
    };
    const budgets = budgetsFor({ ...who, model: 'echo', limits });
    expect(budgets.map((b) => [b.limit, b.identity.kind, b.capacity, b.windowMs])).toEqual([
      ['requests-per-minute', 'sub', 60, 60_000],
      ['requests-per-minute', 'client', 60, 60_000],
      ['tokens-per-minute', 'sub', 1000, 60_000],
      ['tokens-per-minute', 'client', 1000, 60_000],
      ['tokens-per-day', 'sub', 50_000, 86_400_000],
      ['tokens-per-day', 'client', 50_000, 86_400_000],
      ['concurrent-requests', 'sub', 2, 0],
      ['concurrent-requests', 'client', 2, 0],
    ]);
    expect(budgets.every((b) => b.model === '*')).toBe(true);
    expect(budgets[0]?.key).toBe(`rpm:sub:*:${shortHash('alice')}`);
    expect(budgets[7]?.key).toBe(`conc:client:*:${shortHash('app-1')}`);
    expect(shortHash('alice')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('adds a model’s own budgets for each pattern that matches it, the smallest where several do', () => {
    const limits: LimitsSpec = {
      requestsPerMinute: 100,
      models: {
        'chat-*': { requestsPerMinute: 10, tokensPerMinute: 500 },
        'chat-big': { requestsPerMinute: 3 },
        'embed-?': { concurrentRequests: 1 },
      },
    };
    const chat = budgetsFor({ ...who, model: 'chat-big', limits });
    expect(chat.map((b) => [b.limit, b.model, b.capacity])).toEqual([
      ['requests-per-minute', '*', 100],
      ['requests-per-minute', '*', 100],
      ['requests-per-minute', 'chat-big', 3],
      ['requests-per-minute', 'chat-big', 3],
      ['tokens-per-minute', 'chat-big', 500],
      ['tokens-per-minute', 'chat-big', 500],
    ]);
    expect(chat[2]?.key).toBe(`rpm:sub:${shortHash('chat-big')}:${shortHash('alice')}`);
    // Each model is counted on its own.
    const small = budgetsFor({ ...who, model: 'chat-small', limits });
    expect(small[2]?.key).not.toBe(chat[2]?.key);
    expect(budgetsFor({ ...who, model: 'embed-1', limits }).map((b) => b.limit)).toContain(
      'concurrent-requests',
    );
    expect(budgetsFor({ ...who, model: 'embed-12', limits })).toHaveLength(2);
  });

  it('keeps a subject and a client of the same name apart', () => {
    const budgets = budgetsFor({
      sub: 'same',
      clientId: 'same',
      model: 'echo',
      limits: { requestsPerMinute: 1, models: {} },
    });
    expect(new Set(budgets.map((b) => b.key)).size).toBe(2);
  });

  it('hashes any identity and model into a short key; ids outside the charset match no pattern', () => {
    const budgets = budgetsFor({
      sub: 'ü'.repeat(5000),
      clientId: '\u0000:*',
      model: 'bad model/../x',
      limits: { requestsPerMinute: 1, models: { '*': { requestsPerMinute: 1 } } },
    });
    expect(budgets).toHaveLength(2);
    for (const b of budgets) expect(b.key.length).toBeLessThanOrEqual(64);
  });

  it('answers from its cache for the same caller and limits, and recomputes for new limits', () => {
    const limits: LimitsSpec = { requestsPerMinute: 5, models: {} };
    const first = budgetsFor({ ...who, model: 'echo', limits });
    expect(budgetsFor({ ...who, model: 'echo', limits })).toBe(first);
    const changed: LimitsSpec = { requestsPerMinute: 7, models: {} };
    expect(budgetsFor({ ...who, model: 'echo', limits: changed })[0]?.capacity).toBe(7);
  });
});

describe('usageBudgets', () => {
  const limits: LimitsSpec = {
    tokensPerDay: 1000,
    models: { 'chat-*': { requestsPerMinute: 10 }, echo: { requestsPerMinute: 2 } },
  };

  it('lists the top-level budgets, then each pattern’s with model = the pattern', () => {
    const budgets = usageBudgets({ ...who, limits });
    expect(budgets.map((b) => [b.limit, b.model])).toEqual([
      ['tokens-per-day', '*'],
      ['tokens-per-day', '*'],
      ['requests-per-minute', 'chat-*'],
      ['requests-per-minute', 'chat-*'],
      ['requests-per-minute', 'echo'],
      ['requests-per-minute', 'echo'],
    ]);
    // An exact pattern names one model: its counters are those a request for it uses.
    expect(budgets[4]?.key).toBe(budgetsFor({ ...who, model: 'echo', limits })[2]?.key);
  });

  it('expands patterns to the models served when given them', () => {
    const budgets = usageBudgets({ ...who, limits, models: ['chat-a', 'chat-b', 'other'] });
    expect(budgets.map((b) => b.model)).toEqual(['*', '*', 'chat-a', 'chat-a', 'chat-b', 'chat-b']);
  });
});
