import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown role/);
    const t = gatehouse('token', '--roles', 'developer', '--scopes', 'keys:admin');
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/not granted/);
  });

  it('mints a short-lived RFC 9068 token for local use', () => {
    const r = gatehouse('token', '--roles', 'developer', '--ttl', '120');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
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
    expect(listed.find((k) => k.kid === pending.kid)?.active).toBe(false);
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
  });

  it('prints usage and exits 2 on an unknown command', () => {
    const r = gatehouse('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  });

  it('serves, answers /healthz, and shuts down cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--data-dir', dir], {
      env: { ...process.env, GATEHOUSE_MASTER_KEY: 'cli test master key 123' },
    });
    let output = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const m = /"address":"(http:\/\/[^"]+)"/.exec(output);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on('exit', () => {
        reject(new Error(`server exited early: ${output}`));
      });
    });
    const res = await fetch(`${address}/healthz`);
    expect(res.status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).toContain('shutdown complete');
    expect(output).not.toContain('cli test master key');
  });
});
