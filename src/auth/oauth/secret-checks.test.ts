import { describe, expect, it } from 'vitest';
import type { SecretCheck } from './scrypt-worker.js';
import { SecretChecks } from './secret-checks.js';

/** A runner whose checks finish only when the test says so; it records what ran at once. */
function gatedRunner(stats: { running: number; max: number; order: string[] }) {
  const release: (() => void)[] = [];
  const run: SecretCheck = (secret) =>
    new Promise((resolve) => {
      stats.running++;
      stats.max = Math.max(stats.max, stats.running);
      stats.order.push(secret);
      release.push(() => {
        stats.running--;
        resolve(secret === 'right');
      });
    });
  return { run, release };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('SecretChecks', () => {
  it('never runs more checks at once than it has runners, and queues the rest', async () => {
    const stats = { running: 0, max: 0, order: [] as string[] };
    const a = gatedRunner(stats);
    const b = gatedRunner(stats);
    const checks = new SecretChecks({ runners: [a.run, b.run], maxQueue: 100 });
    const all = Array.from({ length: 40 }, (_, i) =>
      checks.check(i === 39 ? 'right' : `wrong-${i}`, 'h', 'unknown'),
    );
    await flush();
    expect(checks.running).toBe(2);
    expect(checks.queued).toBe(38);
    while (a.release.length + b.release.length > 0) {
      for (const r of [...a.release.splice(0), ...b.release.splice(0)]) r();
      await flush();
    }
    const outcomes = await Promise.all(all);
    expect(stats.max).toBe(2);
    expect(outcomes.filter((o) => o === true)).toHaveLength(1);
    expect(checks.running).toBe(0);
    expect(checks.queued).toBe(0);
  });

  it('refuses what does not fit in the queue, and lets a known pair go first', async () => {
    const stats = { running: 0, max: 0, order: [] as string[] };
    const r = gatedRunner(stats);
    const checks = new SecretChecks({ runners: [r.run], maxQueue: 3 });
    const flood = Array.from({ length: 6 }, (_, i) => checks.check(`flood-${i}`, 'h', 'unknown'));
    await flush();
    // One runs, three wait, two are refused at once.
    expect(await flood[4]).toBe('busy');
    expect(await flood[5]).toBe('busy');
    const known = checks.check('right', 'h', 'known');
    // The queue was full: the newest unknown attempt made room for the known one.
    expect(await flood[3]).toBe('busy');
    r.release.shift()?.();
    await flush();
    expect(stats.order).toEqual(['flood-0', 'right']);
    r.release.shift()?.();
    expect(await known).toBe(true);
    while (r.release.length > 0) {
      r.release.shift()?.();
      await flush();
    }
    expect(await Promise.all(flood.slice(0, 3))).toEqual([false, false, false]);
    expect(stats.max).toBe(1);
  });

  it('counts a runner that throws as a mismatch and keeps going', async () => {
    const checks = new SecretChecks({
      runners: [() => Promise.reject(new Error('worker died'))],
      maxQueue: 1,
    });
    expect(await checks.check('x', 'h', 'unknown')).toBe(false);
    expect(await checks.check('x', 'h', 'unknown')).toBe(false);
  });
});
