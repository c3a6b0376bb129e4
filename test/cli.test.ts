import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '../src/cli/main.ts')];
const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));

function gatehouse(...args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args, '--data-dir', dir], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_MASTER_KEY: 'cli test master key 123' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Holds a free port open on 127.0.0.1 until `close` (to make it busy, or to learn one). */
function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      resolve({
        port: typeof a === 'object' && a !== null ? a.port : 0,
        close: () =>
          new Promise<void>((done) => {
            srv.close(() => {
              done();
            });
          }),
      });
    });
  });
}

/** Resolves once `done()` holds, polling every 50 ms (the test's own timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 50));
}

/** Starts `gatehouse serve` and resolves with the child and its address once it listens. */
function startServer(...args: string[]) {
  const child = spawn(process.execPath, [...CLI, 'serve', ...args, '--data-dir', dir], {
    env: { ...process.env, GATEHOUSE_MASTER_KEY: 'cli test master key 123' },
  });
  const log = { output: '' };
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      log.output += chunk.toString();
      const m = /"address":"(http:\/\/[^"]+)"/.exec(log.output);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.on('exit', () => {
      reject(new Error(`server exited early: ${log.output}`));
    });
  });
  return { child, log, listening };
}

describe('gatehouse CLI', () => {
  it('creates a client and prints its credentials once, as JSON', () => {
    const r = gatehouse(
      'clients',
      'create',
      '--name',
      'svc',
      '--roles',
      'developer,ml-engineer',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(out).sort()).toEqual(['client_id', 'client_secret']);
    const list = gatehouse('clients', 'list', '--json');
    const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(rows.map((c) => c.client_id)).toContain(out.client_id);
    // The secret is never shown again.
    expect(list.stdout).not.toContain(out.client_secret);
  });

  it('revokes a client, and says so when the id is unknown', () => {
    const { client_id: id } = JSON.parse(
      gatehouse('clients', 'create', '--name', 'tmp', '--roles', 'auditor', '--json').stdout,
    ) as { client_id: string };
    expect(gatehouse('clients', 'revoke', id).code).toBe(0);
    const again = gatehouse('clients', 'revoke', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no active client/);
  });

  it('rejects unknown roles and scopes beyond the roles with a usage error', () => {
    const r = gatehouse('clients', 'create', '--name', 'x', '--roles', 'superuser');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown role: superuser; valid roles: developer, ml-engineer/);
    const t = gatehouse('token', '--roles', 'developer', '--scopes', 'keys:admin');
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/not granted/);
  });

  it('mints a short-lived RFC 9068 token for local use', () => {
    const r = gatehouse('token', '--roles', 'developer', '--ttl', '120');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    // stdout holds only the token; the issuer it was signed for goes to stderr.
    expect(token).not.toContain('\n');
    expect(r.stderr).toMatch(/^token for issuer http:\/\/127\.0\.0\.1:8080 /);
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(claims.scope).toBe('inference:invoke models:read usage:read');
    expect(claims.roles).toEqual(['developer']);
    expect(gatehouse('token', '--roles', 'developer', '--ttl', '999999').code).toBe(2);
  });

  it('rotates and lists keys without printing private material', () => {
    const before = JSON.parse(gatehouse('keys', 'list', '--json').stdout) as { kid: string }[];
    // By default the new key is published first and signs only after the activation delay.
    const pending = JSON.parse(gatehouse('keys', 'rotate', '--json').stdout) as { kid: string };
    const listed = JSON.parse(gatehouse('keys', 'list', '--json').stdout) as {
      kid: string;
      active: boolean;
    }[];
    expect(listed.find((k) => k.kid === pending.kid)).toMatchObject({
      active: false,
      state: 'pending',
    });
    const lines = gatehouse('keys', 'list').stdout.trim().split('\n');
    expect(lines.find((l) => l.startsWith(pending.kid))).toMatch(
      /^\S+ {2}ES256 {2}pending, signs from \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/,
    );
    expect(lines.find((l) => l.startsWith(before.at(-1)?.kid ?? '-'))).toMatch(/ {2}active$/);
    expect(listed.filter((k) => k.active).map((k) => k.kid)).toEqual([before.at(-1)?.kid]);
    before.push(pending);
    const rotated = JSON.parse(
      gatehouse('keys', 'rotate', '--alg', 'EdDSA', '--immediate', '--json').stdout,
    ) as { kid: string };
    const after = gatehouse('keys', 'list', '--json');
    const rows = JSON.parse(after.stdout) as { kid: string; alg: string; active: boolean }[];
    expect(rows.map((k) => k.kid)).toEqual([...before.map((k) => k.kid), rotated.kid]);
    expect(rows.at(-1)).toMatchObject({ alg: 'EdDSA', active: true });
    expect(rows.filter((k) => k.active)).toHaveLength(1);
    expect(after.stdout).not.toMatch(/"d"|privateJwk/);
    // The key the immediate rotation replaced is retired, with the date it leaves the JWKS.
    const retired = gatehouse('keys', 'list')
      .stdout.split('\n')
      .find((l) => l.startsWith(before[0]?.kid ?? '-'));
    expect(retired).toMatch(/ {2}retired, published until \d{4}-\d\d-\d\dT/);
  });

  it('sets a client’s limits at creation, changes and clears them, and refuses bad ones', () => {
    const created = JSON.parse(
      gatehouse(
        'clients',
        'create',
        '--name',
        'limited',
        '--roles',
        'developer',
        '--limits',
        'requestsPerMinute=60,models.stories*.tokensPerDay=1000',
        '--json',
      ).stdout,
    ) as { client_id: string };
    const limitsOf = () =>
      (
        JSON.parse(gatehouse('clients', 'list', '--json').stdout) as {
          client_id: string;
          limits: unknown;
        }[]
      ).find((c) => c.client_id === created.client_id)?.limits;
    expect(limitsOf()).toEqual({
      requestsPerMinute: 60,
      models: { 'stories*': { tokensPerDay: 1000 } },
    });
    const updated = gatehouse(
      'clients',
      'update',
      created.client_id,
      '--limits',
      'concurrentRequests=2',
    );
    expect(updated.stdout).toBe(
      `updated ${created.client_id}: limits {"concurrentRequests":2,"models":{}}\n`,
    );
    expect(limitsOf()).toEqual({ concurrentRequests: 2, models: {} });
    const zero = gatehouse('clients', 'update', created.client_id, '--limits', 'tokensPerDay=0');
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/^gatehouse: limits\.tokensPerDay: /);
    expect(limitsOf()).toEqual({ concurrentRequests: 2, models: {} });
    const typo = gatehouse('clients', 'update', created.client_id, '--limits', 'rpm=5');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown limit "rpm"');
    expect(gatehouse('clients', 'update', created.client_id, '--limits', 'none').code).toBe(0);
    expect(limitsOf()).toBeNull();
    const missing = gatehouse('clients', 'update', 'gh_nope', '--limits', 'none');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('gatehouse: no client gh_nope\n');
  });

  it('names an unknown command and lists the commands, exit 2', () => {
    const r = gatehouse('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gatehouse: unknown command: frobnicate\ncommands: serve, clients/);
  });

  it('exits 1 at once with one line when the port is busy', async () => {
    const busy = await holdPort();
    try {
      const r = await new Promise<{ code: number | null; stderr: string; stdout: string }>(
        (resolve) => {
          const child = spawn(
            process.execPath,
            [...CLI, 'serve', '--port', String(busy.port), '--data-dir', dir],
            { env: { ...process.env, GATEHOUSE_MASTER_KEY: 'cli test master key 123' } },
          );
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.on('exit', (code) => {
            resolve({ code, stdout, stderr });
          });
        },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `gatehouse: server.port: 127.0.0.1:${busy.port} is already in use (EADDRINUSE); ` +
          'stop the other server or choose another with --port or server.port\n',
      );
      expect(r.stdout).not.toContain('model loaded');
    } finally {
      await busy.close();
    }
  });

  it('serves; a token minted with the same --port is accepted; shuts down on SIGTERM', async () => {
    const free = await holdPort();
    await free.close();
    const { child, log, listening } = startServer('--port', String(free.port));
    const address = await listening;
    const res = await fetch(`${address}/healthz`);
    expect(res.status).toBe(200);
    const t = gatehouse('token', '--roles', 'developer', '--port', String(free.port));
    expect(t.code).toBe(0);
    expect(t.stderr).toContain(`token for issuer http://127.0.0.1:${free.port} `);
    const models = await fetch(`${address}/v1/models`, {
      headers: { authorization: `Bearer ${t.stdout.trim()}` },
    });
    expect(models.status).toBe(200);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        resolve({ code, signal });
      }),
    );
    // Only once the models are loaded: loading one pulls in signal-exit (node-llama-cpp →
    // proper-lockfile), which re-raised SIGTERM and killed the server mid-drain while the
    // server's own listener was a `once` one.
    await until(() => log.output.includes('gatehouse ready'));
    child.kill('SIGTERM');
    // On failure the signal and the server's last words say why.
    const ended = await exit;
    expect({ ...ended, stderr: ended.code === 0 ? '' : stderr.slice(-2000) }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
    expect(log.output).toContain('shutdown complete');
    expect(log.output).not.toContain('cli test master key');
    // Loads the default models (a GGUF and USE-lite) on a shared 2-core machine.
  }, 120_000);
});

describe('gatehouse CLI administration is audited', () => {
  it('records clients create and revoke and keys rotate on the host chain, which verifies', () => {
    const created = JSON.parse(
      gatehouse('clients', 'create', '--name', 'audited', '--roles', 'developer', '--json').stdout,
    ) as { client_id: string; client_secret: string };
    expect(gatehouse('clients', 'revoke', created.client_id).code).toBe(0);
    expect(gatehouse('keys', 'rotate', '--json').code).toBe(0);
    const out = gatehouse('audit', 'export', '--format', 'jsonl');
    expect(out.code).toBe(0);
    const events = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = events.filter((e) => e.resource === `client:${created.client_id}`);
    expect(mine.map((e) => e.action)).toEqual(['client.create', 'client.revoke']);
    expect(mine[0]).toMatchObject({
      decision: 'allow',
      source: 'cli',
      details: { name: 'audited', roles: ['developer'] },
    });
    expect(String(mine[0]?.subject)).toMatch(/^local:/);
    expect(events.some((e) => e.action === 'key.rotate')).toBe(true);
    // The secret never reaches the log.
    expect(out.stdout).not.toContain(created.client_secret);
    const verify = gatehouse('audit', 'verify');
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });

  it('records every token gatehouse token mints, by its jti and never the token', () => {
    const t = gatehouse('token', '--roles', 'auditor', '--sub', 'ops:carol', '--ttl', '120');
    expect(t.code).toBe(0);
    const token = t.stdout.trim();
    const { jti, exp } = decodeJwt(token);
    const out = gatehouse('audit', 'export', '--format', 'jsonl');
    const events = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = events.filter((e) => e.resource === `token:${String(jti)}`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      action: 'token.issue',
      decision: 'allow',
      source: 'cli',
      details: { subject: 'ops:carol', roles: ['auditor'], expiresAt: exp },
    });
    expect(out.stdout).not.toContain(token);
    expect(out.stdout).not.toContain(token.split('.')[2] ?? 'no signature');
  });
});
