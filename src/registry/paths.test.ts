import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryInputError } from './errors.js';
import { allowedFile, hashFile, validName } from './paths.js';

const ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

let base: string;
let root: string;
let outside: string;

// base/root/{good.bin, sub/, link-out -> ../outside/secret, dir-out -> ../outside, fifo,
//            inner -> sub/inner.bin}
// base/outside/secret   base/rootevil/file   base/root-link -> root
beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'gatehouse-paths-')));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await mkdir(join(base, 'rootevil'));
  await writeFile(join(root, 'good.bin'), 'abc');
  await writeFile(join(root, 'sub', 'inner.bin'), 'abc');
  await writeFile(join(outside, 'secret'), 'secret');
  await writeFile(join(base, 'rootevil', 'file'), 'abc');
  await symlink(join(outside, 'secret'), join(root, 'link-out'));
  await symlink(outside, join(root, 'dir-out'));
  await symlink(join(root, 'sub', 'inner.bin'), join(root, 'inner'));
  await symlink(root, join(base, 'root-link'));
  await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
  await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<{ reason: string; message: string }> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryInputError);
  const e = err as RegistryInputError;
  expect(e.statusCode).toBe(400);
  return { reason: e.reason, message: e.message };
}

describe('allowedFile', () => {
  it('returns the real path of a regular file inside a root, absolute or relative', async () => {
    const good = join(root, 'good.bin');
    expect(await allowedFile(good, [root])).toBe(good);
    const cwd = process.cwd();
    process.chdir(base);
    try {
      expect(await allowedFile('root/good.bin', ['root'])).toBe(good);
      expect(await allowedFile('./root/sub/inner.bin', [root])).toBe(
        join(root, 'sub', 'inner.bin'),
      );
    } finally {
      process.chdir(cwd);
    }
    expect(await allowedFile(good, [join(base, 'elsewhere'), `${root}/`])).toBe(good);
    // A symlink that stays inside the roots is resolved, not refused.
    expect(await allowedFile(join(root, 'inner'), [root])).toBe(join(root, 'sub', 'inner.bin'));
  });

  it('refuses a NUL byte', async () => {
    const r = await refusal(allowedFile(`${root}/good.bin\0.txt`, [root]));
    expect(r).toEqual({
      reason: 'path-nul',
      message: 'The path is refused: it contains a NUL byte',
    });
  });

  it("refuses a '..' segment even when the path would resolve inside the root", async () => {
    for (const p of [`${root}/sub/../good.bin`, `${root}/../outside/secret`, '../x', '..']) {
      const r = await refusal(allowedFile(p, [root]));
      expect(r).toEqual({
        reason: 'path-dotdot',
        message: "The path is refused: it contains a '..' segment",
      });
    }
    // A name that merely starts with two dots is not a parent reference.
    await writeFile(join(root, '..hidden'), 'abc');
    expect(await allowedFile(join(root, '..hidden'), [root])).toBe(join(root, '..hidden'));
  });

  it('refuses an absolute path outside every root, including a sibling sharing its prefix', async () => {
    for (const p of [join(outside, 'secret'), join(base, 'rootevil', 'file'), '/etc/passwd']) {
      const r = await refusal(allowedFile(p, [root]));
      expect(r).toEqual({
        reason: 'path-outside',
        message: 'The path is refused: it is outside every root in registry.allowedPaths',
      });
    }
  });

  it('refuses everything when no root is allowed', async () => {
    const r = await refusal(allowedFile(join(root, 'good.bin'), []));
    expect(r.reason).toBe('path-outside');
    expect(r.message).toContain('registry.allowedPaths is empty');
  });

  it('refuses a symlink inside a root that points out of it', async () => {
    const r = await refusal(allowedFile(join(root, 'link-out'), [root]));
    expect(r).toEqual({
      reason: 'path-escape',
      message:
        'The path is refused: a symlink in it leads outside every root in registry.allowedPaths',
    });
    expect(r.message).not.toContain(outside);
  });

  it('refuses a file under a symlinked parent directory that points out of the root', async () => {
    const r = await refusal(allowedFile(join(root, 'dir-out', 'secret'), [root]));
    expect(r.reason).toBe('path-escape');
  });

  it('refuses a symlink loop', async () => {
    const r = await refusal(allowedFile(join(root, 'loop-a'), [root]));
    expect(r.reason).toBe('path-escape');
  });

  it('accepts a root that is itself a symlink, by either name of the file', async () => {
    const viaLink = join(base, 'root-link', 'good.bin');
    expect(await allowedFile(viaLink, [join(base, 'root-link')])).toBe(join(root, 'good.bin'));
    expect(await allowedFile(join(root, 'good.bin'), [join(base, 'root-link')])).toBe(
      join(root, 'good.bin'),
    );
    // Resolving the root does not widen it: its escapes are still refused.
    const r = await refusal(
      allowedFile(join(base, 'root-link', 'link-out'), [join(base, 'root-link')]),
    );
    expect(r.reason).toBe('path-escape');
  });

  it('refuses a FIFO without blocking on it', async () => {
    const r = await refusal(allowedFile(join(root, 'fifo'), [root]));
    expect(r).toEqual({
      reason: 'path-not-regular',
      message: 'The path is refused: it is not a regular file',
    });
  });

  it('refuses a directory, the root itself and a device', async () => {
    expect((await refusal(allowedFile(join(root, 'sub'), [root]))).reason).toBe('path-not-regular');
    expect((await refusal(allowedFile(root, [root]))).reason).toBe('path-not-regular');
    expect((await refusal(allowedFile('/dev/null', ['/dev']))).reason).toBe('path-not-regular');
  });

  it('refuses a path where nothing is', async () => {
    const r = await refusal(allowedFile(join(root, 'absent.bin'), [root]));
    expect(r).toEqual({ reason: 'path-missing', message: 'The path is refused: no file is there' });
    expect((await refusal(allowedFile(join(root, 'good.bin', 'x'), [root]))).reason).toBe(
      'path-missing',
    );
  });
});

describe('hashFile', () => {
  it('returns the sha256 and size of a file', async () => {
    expect(await hashFile(join(root, 'good.bin'))).toEqual({ sha256: ABC, size: 3 });
  });

  it('refuses a FIFO, a directory, a final symlink and a missing file', async () => {
    expect((await refusal(hashFile(join(root, 'fifo')))).reason).toBe('path-not-regular');
    expect((await refusal(hashFile(join(root, 'sub')))).reason).toBe('path-not-regular');
    expect((await refusal(hashFile(join(root, 'inner')))).reason).toBe('path-not-regular');
    expect((await refusal(hashFile(join(root, 'absent')))).reason).toBe('path-missing');
  });

  it('streams a 64 MB file to the right digest', async () => {
    const path = join(base, 'large.bin');
    const expected = createHash('sha256');
    function* generate(): Generator<Buffer> {
      for (let i = 0; i < 64; i++) {
        const chunk = randomBytes(1024 * 1024);
        expected.update(chunk);
        yield chunk;
      }
    }
    await pipeline(Readable.from(generate()), createWriteStream(path));
    expect(await hashFile(path)).toEqual({
      sha256: expected.digest('hex'),
      size: 64 * 1024 * 1024,
    });
    await rm(path);
  });
});

describe('validName', () => {
  it.each(['a', '0', 'use-lite', 'dataset_v1.2', 'a.b-c_d', 'x'.repeat(128)])('accepts %s', (n) => {
    expect(validName(n)).toBe(n);
  });

  it.each([
    ['', 'it is empty'],
    ['x'.repeat(129), 'it is longer than 128 characters'],
    ['a..b', "it contains '..'"],
    ['..', "it contains '..'"],
    ['.hidden', 'it must start with a letter or a digit'],
    ['-flag', 'it must start with a letter or a digit'],
    ['_x', 'it must start with a letter or a digit'],
    ['Model', "it contains an upper-case letter; only a-z, 0-9, '.', '_' and '-' are allowed"],
    ['a/b', "it contains U+002F; only a-z, 0-9, '.', '_' and '-' are allowed"],
    ['a b', "it contains U+0020; only a-z, 0-9, '.', '_' and '-' are allowed"],
    ['a\0b', "it contains U+0000; only a-z, 0-9, '.', '_' and '-' are allowed"],
    ['café', "it contains U+00E9; only a-z, 0-9, '.', '_' and '-' are allowed"],
  ])('refuses %j: %s', (name, rule) => {
    let err: unknown;
    try {
      validName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryInputError);
    expect((err as RegistryInputError).reason).toBe('name-invalid');
    expect((err as RegistryInputError).statusCode).toBe(400);
    expect((err as RegistryInputError).message).toBe(`The name is invalid: ${rule}`);
  });
});
