/**
 * @module test/policy-cli — `gatehouse clients create --roles` and `gatehouse token --roles`
 * check roles and scopes against the policy in force: the configured file when there is one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '../src/cli/main.ts')];
const dir = mkdtempSync(join(tmpdir(), 'gh-policy-cli-'));
const policyFile = join(dir, 'policy.yaml');
const configFile = join(dir, 'gatehouse.yaml');
writeFileSync(
  policyFile,
  'roles:\n  trainer:\n    scopes: [datasets:read, models:read]\n    datasets: ["*"]\n',
);
writeFileSync(configFile, `policy:\n  file: ${JSON.stringify(policyFile)}\n`);

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

describe('CLI roles from the policy file', () => {
  it('mints tokens for the roles of the file, with the scopes it grants', () => {
    const r = gatehouse('token', '--roles', 'trainer', '--config', configFile);
    expect(r.code, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim())).toMatchObject({
      scope: 'datasets:read models:read',
      roles: ['trainer'],
    });
    const extra = gatehouse(
      'token',
      '--roles',
      'trainer',
      '--scopes',
      'inference:invoke',
      '--config',
      configFile,
    );
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('scope(s) not granted by the roles: inference:invoke');
  });

  it('refuses a built-in role the file does not define, listing the valid ones', () => {
    for (const args of [
      ['token', '--roles', 'developer'],
      ['clients', 'create', '--name', 'x', '--roles', 'developer'],
    ]) {
      const r = gatehouse(...args, '--config', configFile);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown role: developer; valid roles: trainer');
    }
  });

  it('registers a client with a role of the file', () => {
    const r = gatehouse(
      'clients',
      'create',
      '--name',
      'ci',
      '--roles',
      'trainer',
      '--json',
      '--config',
      configFile,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      client_id: expect.stringMatching(/^gh_/) as string,
    });
  });

  it('fails with the key and line when the policy file is invalid', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'roles:\n  trainer:\n    scopes: [datasets:reed]\n');
    const config = join(dir, 'bad-config.yaml');
    writeFileSync(config, `policy:\n  file: ${JSON.stringify(bad)}\n`);
    const r = gatehouse('token', '--roles', 'trainer', '--config', config);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${bad}:3:14: roles.trainer.scopes[0]: unknown scope "datasets:reed"`,
    );
  });
});
