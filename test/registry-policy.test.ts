/**
 * The policy's model patterns bound the registry as they bound inference: with a policy file
 * that limits the auditor to `public-*` models, it lists, reads and downloads those only, and
 * every other model's records and artifact are refused (403) — the routes name `model:<model>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicyText } from '../src/policy/index.js';
import type { Fixture } from './support/app-fixture.js';
import { startPolicyApp } from './support/policy-fixture.js';
import { artifact, call, caller, putBlob, type Caller } from './support/registry-api.js';

/** The built-in policy with the auditor limited to `public-*` models. */
const LIMITED = builtinPolicyText().replace(
  /(auditor:\n {4}scopes:\n(?: {6}- .*\n)+ {4}models:\n) {6}- "\*"\n/,
  '$1      - "public-*"\n',
);

describe('registry under model patterns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-registry-policy-'));
  let f: Fixture;
  let auditor: Caller;
  const open = artifact();
  const hidden = artifact();

  beforeAll(async () => {
    expect(LIMITED).not.toBe(builtinPolicyText());
    f = await startPolicyApp(dir, LIMITED);
    const eng = await caller(f, ['ml-engineer']);
    auditor = await caller(f, ['auditor']);
    for (const [model, a] of [
      ['public-chat', open],
      ['internal-chat', hidden],
    ] as const) {
      expect((await putBlob(f, eng, a.sha256, a.bytes)).statusCode).toBe(201);
      const res = await call(f, eng, 'POST', `/v1/registry/models/${model}/versions`, {
        backend: 'echo',
        sha256: a.sha256,
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists and reads only the models the patterns match', async () => {
    const listed = await call(f, auditor, 'GET', '/v1/registry/models');
    expect(listed.json()).toEqual({
      object: 'list',
      data: [{ model: 'public-chat', active: null, versions: 1 }],
    });
    expect(
      (await call(f, auditor, 'GET', '/v1/registry/models/public-chat/versions/1')).statusCode,
    ).toBe(200);
    expect(
      (await call(f, auditor, 'GET', '/v1/registry/models/internal-chat/versions/1')).statusCode,
    ).toBe(403);
    expect((await call(f, auditor, 'GET', `/v1/registry/blobs/${open.sha256}`)).statusCode).toBe(
      200,
    );
    const blob = await call(f, auditor, 'GET', `/v1/registry/blobs/${hidden.sha256}`);
    expect(blob.statusCode).toBe(403);
    expect(blob.rawPayload.includes(hidden.bytes.subarray(0, 16))).toBe(false);
  });
});
