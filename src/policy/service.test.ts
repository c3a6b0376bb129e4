import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyFileError } from './errors.js';
import { openPolicy, policySnapshot } from './service.js';
import type { Policy, ReloadEvent } from './types.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const CHAT_ONLY = 'roles:\n  developer:\n    scopes: [inference:invoke]\n    models: ["chat-*"]\n';
const LITE_ONLY = 'roles:\n  developer:\n    scopes: [inference:invoke]\n    models: [use-lite]\n';
const INVALID = 'roles:\n  developer:\n    scopes: [inference:invoke]\n    modles: [use-lite]\n';

let dir: string;
let file: string;
const opened: Policy[] = [];
const logged: { level: string; msg: string; obj: Record<string, unknown> }[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-policy-'));
  file = join(dir, 'policy.yaml');
  logged.length = 0;
});
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(options: { watch?: boolean } = {}): Policy {
  const p = openPolicy({
    file,
    watch: options.watch ?? false,
    pollMs: 50,
    debounceMs: 10,
    log: (level, obj, msg) => logged.push({ level, obj, msg }),
  });
  opened.push(p);
  return p;
}

const invoke = (p: Policy, model: string) =>
  p.current().decide({
    roles: ['developer'],
    scopes: new Set(['inference:invoke']),
    action: 'inference:invoke',
    resource: `model:${model}`,
  }).allowed;

/** The next reload event of `p` (the watcher's, after a change on disk). */
const nextReload = (p: Policy) =>
  new Promise<ReloadEvent>((resolve) => {
    const off = p.onReload((e) => {
      off();
      resolve(e);
    });
  });

describe('policy file loading and reload', () => {
  it('starts from the file, with the sha256 of its bytes', () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open();
    expect(p.current().sha256).toBe(sha(CHAT_ONLY));
    expect(p.current().source).toBe(file);
    expect(invoke(p, 'chat-large')).toBe(true);
    expect(invoke(p, 'use-lite')).toBe(false);
  });

  it('refuses to start on an invalid or missing file, naming the key and line', () => {
    writeFileSync(file, INVALID);
    expect(() => open()).toThrow(PolicyFileError);
    expect(() => open()).toThrow(`${file}:4:5: roles.developer.modles: unknown key`);
    expect(() => openPolicy({ file: join(dir, 'none.yaml') })).toThrow(
      'cannot read the policy file (ENOENT)',
    );
  });

  it('puts a valid edit in force at once, and tells listeners both digests', () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open();
    const events: ReloadEvent[] = [];
    p.onReload((e) => events.push(e));
    writeFileSync(file, LITE_ONLY);
    expect(p.check()).toEqual({
      ok: true,
      sha256: sha(LITE_ONLY),
      source: file,
      previousSha256: sha(CHAT_ONLY),
    });
    expect(events).toHaveLength(1);
    expect(invoke(p, 'use-lite')).toBe(true);
    expect(invoke(p, 'chat-large')).toBe(false);
    // Unchanged bytes: no reload, no event.
    expect(p.check()).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(logged.map((l) => l.msg)).toEqual(['policy reloaded']);
  });

  it('refuses an invalid edit with a logged error and keeps the last good policy', () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open();
    writeFileSync(file, INVALID);
    const event = p.check();
    expect(event).toMatchObject({
      ok: false,
      sha256: sha(INVALID),
      previousSha256: sha(CHAT_ONLY),
    });
    expect(event?.error).toContain('policy.yaml:4:5: roles.developer.modles: unknown key');
    expect(p.current().sha256).toBe(sha(CHAT_ONLY));
    expect(invoke(p, 'chat-large')).toBe(true);
    expect(logged).toMatchObject([{ level: 'error', msg: 'policy reload refused' }]);
    // The same bad bytes are reported once, not on every look.
    expect(p.check()).toBeUndefined();
    // Fixed: in force.
    writeFileSync(file, LITE_ONLY);
    expect(p.check()).toMatchObject({ ok: true, previousSha256: sha(CHAT_ONLY) });
    expect(invoke(p, 'use-lite')).toBe(true);
  });

  it('keeps the policy in force when the file is deleted, and loads it when it is back', () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open();
    unlinkSync(file);
    expect(p.check()).toMatchObject({ ok: false, sha256: null, previousSha256: sha(CHAT_ONLY) });
    expect(p.check()).toBeUndefined();
    expect(invoke(p, 'chat-large')).toBe(true);
    writeFileSync(file, LITE_ONLY);
    expect(p.check()).toMatchObject({ ok: true, sha256: sha(LITE_ONLY) });
  });

  it('sees an edit written in place, without being asked', async () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open({ watch: true });
    const reloaded = nextReload(p);
    writeFileSync(file, LITE_ONLY);
    expect(await reloaded).toMatchObject({ ok: true, sha256: sha(LITE_ONLY) });
    expect(invoke(p, 'use-lite')).toBe(true);
  });

  it('sees an editor that writes a new file and renames it over the old one', async () => {
    writeFileSync(file, CHAT_ONLY);
    const p = open({ watch: true });
    const reloaded = nextReload(p);
    writeFileSync(join(dir, '.policy.yaml.swp'), LITE_ONLY);
    renameSync(join(dir, '.policy.yaml.swp'), file);
    expect(await reloaded).toMatchObject({ ok: true, sha256: sha(LITE_ONLY) });
    // And keeps watching the new file.
    const again = nextReload(p);
    writeFileSync(file, INVALID);
    expect(await again).toMatchObject({ ok: false, sha256: sha(INVALID) });
    expect(p.current().sha256).toBe(sha(LITE_ONLY));
  });

  it('without a file, serves the built-in policy and never reloads', () => {
    const p = openPolicy();
    expect(p.current().source).toBe('builtin');
    expect(p.check()).toBeUndefined();
    expect(policySnapshot(undefined)).toBe(p.current());
    p.close();
  });
});
