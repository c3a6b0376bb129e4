/**
 * @module test/serve-kill9.test — the whole server under load, killed with SIGKILL at a random
 * moment, several rounds in a row on one data dir: every answer a client received names (in its
 * receipt) an event that is in the store after the crash, with the request id and the output
 * digest of that answer, and every chain verifies after every restart. This is `gatehouse serve`
 * as a user runs it (echo chat model, SQLite, receipts on), driven over real sockets.
 * Short mode (CI): 3 rounds of ~0.3–0.9 s; SERVE_KILL9_ROUNDS raises it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  textOutputSha256,
  unsignedBound,
  verifyAudit,
  verifyReceipt,
  type ReceiptClaims,
} from '../src/audit/index.js';
import { createClient, openKeyRing } from '../src/auth/index.js';
import { loadConfig } from '../src/config/index.js';
import { systemClock } from '../src/lib/clock.js';
import { openStore } from '../src/store/index.js';
import { basic, form } from './support/app-fixture.js';

const ROUNDS = Number(process.env.SERVE_KILL9_ROUNDS ?? 3);
const CLI = join(import.meta.dirname, '../src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'gh-serve-kill9-'));
const configFile = join(dir, 'gatehouse.yaml');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => {
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

/** Starts `gatehouse serve`; resolves once it answers /readyz 200. */
async function serve(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--config', configFile, '--data-dir', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${String(child.exitCode)})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server never became ready');
}

interface Answer {
  receipt: string;
  text: string;
}

describe('gatehouse serve under kill -9', () => {
  it('loses no event of an answer a client received, and its chain verifies', async () => {
    const port = await freePort();
    writeFileSync(
      configFile,
      [
        'server:',
        `  port: ${String(port)}`,
        'log:',
        '  level: warn',
        'models:',
        '  - id: echo',
        '    backend: echo',
        'inference:',
        '  moderation: null',
        '  promptInjection: null',
        'audit:',
        '  replicaId: kill9',
        '  checkpointEvery: 100',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ env: {}, file: configFile, overrides: { dataDir: dir } });
    const store0 = await openStore({ dataDir: dir });
    const created = await createClient(store0, systemClock, { name: 'load', roles: ['developer'] });
    await store0.close();
    const base = `http://127.0.0.1:${String(port)}`;
    const answers: Answer[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const child = await serve(port);
      const tokenRes = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(created.client.id, created.secret ?? ''),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form({ grant_type: 'client_credentials' }),
      });
      expect(tokenRes.status).toBe(200);
      const { access_token: token } = (await tokenRes.json()) as { access_token: string };
      let stop = false;
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const content = `round ${String(round)} worker ${String(w)} request ${String(i)}`;
          try {
            const res = await fetch(`${base}/v1/chat/completions`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                model: 'echo',
                messages: [{ role: 'user', content }],
                max_tokens: 8,
              }),
            });
            const body = (await res.json()) as { choices: { message: { content: string } }[] };
            // Only a complete answer counts as received.
            if (res.status === 200) {
              answers.push({
                receipt: res.headers.get('gatehouse-receipt') ?? '',
                text: body.choices[0]?.message.content ?? '',
              });
            }
          } catch {
            return; // the server died under this request: nothing was received
          }
        }
      };
      const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 600));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      stop = true;
      await load;

      // After the crash: every received answer's event is stored, as its receipt says.
      const store = await openStore({ dataDir: dir });
      const ring = await openKeyRing(config, store, systemClock);
      try {
        for (const a of answers) {
          const claims: ReceiptClaims = await verifyReceipt(a.receipt, ring.auditJwks(), {
            output: a.text,
          });
          const [row] = await store.audit.events(claims.chain, claims.seq - 1, 1);
          expect(row?.seq).toBe(claims.seq);
          const event = JSON.parse(row?.event ?? '{}') as Record<string, unknown>;
          expect(event.requestId).toBe(claims.request_id);
          expect(event.outputSha256).toBe(textOutputSha256(a.text));
          expect(event.status).toBe(200);
        }
        const report = await verifyAudit(store.audit, ring.auditJwks(), {
          maxUnsigned: unsignedBound(100),
        });
        expect(report.ok ? 'ok' : report.problem).toBe('ok');
      } finally {
        await store.close();
      }
    }
    // The load did reach the server in every round.
    expect(answers.length).toBeGreaterThan(ROUNDS * 20);
  }, 180_000);
});
