import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from './deadlines.js';

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires deadlines in order with one timer, and clears it when none is left', async () => {
    const d = new Deadlines(Date.now);
    const fired: string[] = [];
    d.add(300, () => fired.push('c'));
    d.add(100, () => fired.push('a'));
    const b = d.add(200, () => fired.push('b'));
    d.add(200, () => fired.push('b2'));
    expect(vi.getTimerCount()).toBe(1);
    d.delete(b);
    await vi.advanceTimersByTimeAsync(150);
    expect(fired).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired).toEqual(['a', 'b2', 'c']);
    expect(d.size).toBe(0);
    expect(d.armed).toBe(false);
  });

  it('re-arms for an earlier deadline and drops the timer when the last one is deleted', async () => {
    const d = new Deadlines(Date.now);
    const fired: number[] = [];
    const late = d.add(1_000, () => fired.push(1_000));
    const early = d.add(10, () => fired.push(10));
    d.delete(early);
    d.delete(late);
    expect(vi.getTimerCount()).toBe(0);
    // Deleting twice, or after firing, is harmless.
    d.delete(late);
    const x = d.add(5, () => fired.push(5));
    await vi.advanceTimersByTimeAsync(5);
    d.delete(x);
    expect(fired).toEqual([5]);
  });

  it('keeps heap order under many adds and deletes', async () => {
    const d = new Deadlines(Date.now);
    const fired: number[] = [];
    const entries = Array.from({ length: 200 }, (_, i) => {
      const ms = ((i * 7919) % 200) + 1;
      return { ms, e: d.add(ms, () => fired.push(ms)) };
    });
    for (const { ms, e } of entries) if (ms % 3 === 0) d.delete(e);
    await vi.advanceTimersByTimeAsync(500);
    const expected = entries.map((x) => x.ms).filter((ms) => ms % 3 !== 0);
    expect(fired).toEqual(expected.sort((a, b) => a - b));
    expect(d.armed).toBe(false);
  });
});
