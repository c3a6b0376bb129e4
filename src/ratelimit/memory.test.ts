/**
 * @module ratelimit/memory.test — the conformance suite on the memory backend (a clock the test
 * moves), and its memory bound.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backendConformance } from './backend.case.js';
import { MemoryBackend } from './memory.js';
import type { Budget } from './types.js';

backendConformance('memory', () => {
  let now = 1_700_000_000_000;
  const backend = new MemoryBackend({ clock: () => now });
  return Promise.resolve({
    backend,
    advance: (ms: number) => {
      now += ms;
    },
    close: () => backend.close(),
  });
});

const rpm = (key: string): Budget => ({
  limit: 'requests-per-minute',
  identity: { kind: 'sub', id: key },
  model: '*',
  capacity: 10,
  windowMs: 60_000,
  key,
});

describe('memory backend bound', () => {
  it('drops buckets that have refilled, and never holds more than maxEntries', async () => {
    let now = 0;
    const backend = new MemoryBackend({ clock: () => now, maxEntries: 5000 });
    for (let i = 0; i < 3000; i++)
      await backend.acquire([{ budget: rpm(`a${i}`), amount: 1 }], '', 1000);
    expect(backend.size).toBe(3000);
    now += 60_000;
    for (let i = 0; i < 1100; i++)
      await backend.acquire([{ budget: rpm(`b${i}`), amount: 1 }], '', 1000);
    // The sweep ran when the Map grew past its threshold: every refilled `a` bucket is gone.
    expect(backend.size).toBe(1100);
    for (let i = 0; i < 20_000; i++) {
      await backend.acquire([{ budget: rpm(randomUUID()), amount: 1 }], '', 1000);
      expect(backend.size).toBeLessThanOrEqual(5000);
    }
  });

  it('keeps no entry for a bucket that a release filled up', async () => {
    const backend = new MemoryBackend({ clock: () => 0 });
    const b = rpm('full');
    await backend.acquire([{ budget: b, amount: 3 }], '', 1000);
    expect(backend.size).toBe(1);
    await backend.release([{ budget: b, amount: 3 }], '');
    expect(backend.size).toBe(0);
  });
});
