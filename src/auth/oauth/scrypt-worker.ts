/**
 * @module auth/oauth/scrypt-worker — client-secret checks on dedicated worker threads. scrypt
 * is deliberately slow (~50 ms); run on the libuv pool, a flood of wrong secrets fills its four
 * threads and every async EC/EdDSA signature check (access-token verification) and file read
 * waits behind it. Here each thread runs one synchronous scrypt at a time, so the pool stays
 * free and the number of checks in progress is exactly the number of threads.
 */
import { Worker } from 'node:worker_threads';
import { keyMatches, parseSecretHash, SCRYPT_MAXMEM } from '../secrets.js';

/*
 * Plain CommonJS evaluated in the worker: no TypeScript, no loader, so it runs the same from
 * dist/ and under tsx/vitest. The secret crosses by structured clone, never through a file.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
const { readlinkSync } = require('node:fs');
const { getPriority, setPriority } = require('node:os');
// Nicer than the event loop (Linux nice is per thread): on a busy machine the request path and
// token verification get a core first, and the flood's checks wait.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + 10));
} catch {}
parentPort.on('message', (m) => {
  let key = null;
  try {
    key = scryptSync(m.secret, m.salt, m.keylen, { N: m.N, r: m.r, p: m.p, maxmem: m.maxmem });
  } catch {}
  parentPort.postMessage({ id: m.id, key });
});
`;

interface Reply {
  id: number;
  key: Uint8Array | null;
}

/** A secret check: true when `secret` matches the stored hash. */
export type SecretCheck = (secret: string, stored: string) => Promise<boolean>;

/** One worker thread that checks secrets one after another. */
export class ScryptWorker {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, (key: Uint8Array | null) => void>();
  #next = 0;
  #closed = false;

  /** Checks `secret` against `stored`; never rejects (a failure is a mismatch). */
  readonly check: SecretCheck = async (secret, stored) => {
    const parsed = parseSecretHash(stored);
    if (parsed === undefined || this.#closed) return false;
    const id = this.#next++;
    const key = await new Promise<Uint8Array | null>((resolve) => {
      this.#pending.set(id, resolve);
      this.#thread().postMessage({
        id,
        secret,
        salt: parsed.salt,
        keylen: parsed.expected.length,
        N: parsed.N,
        r: parsed.r,
        p: parsed.p,
        maxmem: SCRYPT_MAXMEM,
      });
    });
    return key !== null && keyMatches(key, parsed);
  };

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle, it must not keep the process alive; busy, its pending promises do the waiting.
    worker.unref();
    const fail = () => {
      if (this.#worker === worker) this.#worker = undefined;
      const waiting = [...this.#pending.values()];
      this.#pending.clear();
      for (const resolve of waiting) resolve(null);
    };
    worker.on('message', (reply: Reply) => {
      const resolve = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      resolve?.(reply.key);
    });
    worker.on('error', fail);
    worker.on('exit', fail);
    this.#worker = worker;
    return worker;
  }

  /** Stops the thread; checks still waiting resolve as mismatches. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}
