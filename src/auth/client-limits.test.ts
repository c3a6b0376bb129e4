import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { ClientLimitsCache } from './client-limits.js';
import { createClient } from './clients.js';

const clock = () => 1_700_000_000_000;

describe('ClientLimitsCache', () => {
  let dir: string;
  let store: Store;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-climits-'));
    store = await openStore({ dataDir: dir });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a client’s limits once per ttl and sees a change after it', async () => {
    const { client } = await createClient(store, clock, {
      name: 'c',
      roles: ['developer'],
      limits: { requestsPerMinute: 5 },
    });
    let now = 0;
    const cache = new ClientLimitsCache(store, 2000, () => now);
    const first = cache.get(client.id);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ requestsPerMinute: 5, models: {} });
    // Fresh: answered from memory, synchronously.
    expect(cache.get(client.id)).toEqual({ requestsPerMinute: 5, models: {} });
    await store.clients.setLimits(client.id, null);
    now = 1999;
    expect(cache.get(client.id)).toEqual({ requestsPerMinute: 5, models: {} });
    now = 2000;
    expect(await cache.get(client.id)).toBeNull();
  });

  it('asks the store once for concurrent cold look-ups, and null for an unknown client', async () => {
    const cache = new ClientLimitsCache(store, 1000, () => 0);
    const a = cache.get('gh_unknown');
    const b = cache.get('gh_unknown');
    expect(a).toBe(b);
    expect(await a).toBeNull();
  });

  it('keeps at most max entries', async () => {
    const cache = new ClientLimitsCache(store, 60_000, () => 0, 2);
    for (const id of ['x1', 'x2', 'x3']) await cache.get(id);
    expect(cache.get('x3')).toBeNull();
    expect(cache.get('x1')).toBeInstanceOf(Promise);
  });
});
