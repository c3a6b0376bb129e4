/**
 * @module ratelimit/redis.fault.test — Redis failing for real: a redis-server of the test's own
 * on a free port, killed mid-test and started again on the same port. Checks fail fast with
 * LimiterUnavailableError (no hang, no unhandled rejection) and work again by themselves.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LimiterUnavailableError } from './errors.js';
import { openRedisBackend, type RedisBackend } from './redis.js';
import type { Charge } from './types.js';

const binary = spawnSync('which', ['redis-server'], { encoding: 'utf8' }).stdout.trim();
if (binary === '') console.warn('ratelimit/redis.fault: skipped; redis-server is not installed');

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !out.includes('Ready to accept connections'); i++) await sleep(50);
  if (!out.includes('Ready to accept connections')) throw new Error('redis-server did not start');
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

const TIMEOUT_MS = 250;

describe.skipIf(binary === '')('redis backend under faults', () => {
  const children: ChildProcess[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const c of children) await stop(c);
  });

  const charge = (): Charge => ({
    budget: {
      limit: 'requests-per-minute',
      identity: { kind: 'sub', id: 'fault' },
      model: '*',
      capacity: 1000,
      windowMs: 60_000,
      key: 'fault',
    },
    amount: 1,
  });

  async function untilWorks(backend: RedisBackend): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const ok = await backend.acquire([charge()], randomUUID(), 1000).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(50);
    }
    throw new Error('the backend did not recover');
  }

  it('rejects fast while Redis is gone, and recovers by itself on its return', async () => {
    const port = await freePort();
    children.push(await startRedis(port));
    const status: boolean[] = [];
    const backend = await openRedisBackend({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: `fault:${randomUUID()}:`,
      timeoutMs: TIMEOUT_MS,
      onStatus: (up) => status.push(up),
    });
    try {
      expect((await backend.acquire([charge()], randomUUID(), 1000)).ok).toBe(true);
      expect(await backend.healthy()).toBe(true);

      await stop(children[0]!);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const err: unknown = await backend
          .acquire([charge()], randomUUID(), 1000)
          .catch((e: unknown) => e);
        // Bounded, not fast: a generous margin over the command timeout (no hang).
        expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 2000);
        expect(err).toBeInstanceOf(LimiterUnavailableError);
        expect((err as LimiterUnavailableError).statusCode).toBe(503);
      }
      await expect(backend.release([charge()], randomUUID())).rejects.toBeInstanceOf(
        LimiterUnavailableError,
      );
      await expect(backend.peek([charge().budget])).rejects.toBeInstanceOf(LimiterUnavailableError);
      expect(await backend.healthy()).toBe(false);

      children.push(await startRedis(port));
      await untilWorks(backend);
      expect(await backend.healthy()).toBe(true);
      expect(status[0]).toBe(true);
      expect(status).toContain(false);
      expect(status.at(-1)).toBe(true);
    } finally {
      await backend.close();
    }
    expect(unhandled).toEqual([]);
  });

  it('opens while Redis is down, and works once it is up', async () => {
    const port = await freePort();
    const backend = await openRedisBackend({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: `fault:${randomUUID()}:`,
      timeoutMs: TIMEOUT_MS,
    });
    try {
      expect(await backend.healthy()).toBe(false);
      await expect(backend.acquire([charge()], randomUUID(), 1000)).rejects.toBeInstanceOf(
        LimiterUnavailableError,
      );
      children.push(await startRedis(port));
      await untilWorks(backend);
    } finally {
      await backend.close();
    }
    expect(unhandled).toEqual([]);
  });
});
