import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedArtifact, type ArtifactSources } from './artifacts.js';
import { BlobStore } from './blobs.js';
import { FolderArtifactError, RegistryInputError } from './errors.js';
import { hashFolder, walkFolder } from './folder-walk.js';
import { folderManifest, manifestBytes, parseManifest, sha256Of } from './folders.js';
import { artifactsDirOf, materializeFolder, servedManifest } from './materialize.js';

let base: string;
let model: string; // base/allowed/model: a folder artifact
let outside: string;
let blobs: BlobStore;
let src: ArtifactSources;

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'gatehouse-folders-')));
  model = join(base, 'allowed', 'model');
  outside = join(base, 'outside');
  await mkdir(join(model, 'onnx'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(model, 'model.json'), '{"graph":1}');
  await writeFile(join(model, 'vocab.json'), '[["a",1]]');
  await writeFile(join(model, 'onnx', 'model.onnx'), 'onnx bytes');
  await writeFile(join(outside, 'secret'), 'secret');
  blobs = new BlobStore(join(base, 'data', 'blobs'));
  src = { blobs, allowedPaths: [join(base, 'allowed')], maxBlobBytes: 1024 };
});
afterEach(async () => {
  // Materialized folders are read-only: make them writable again so they can go.
  execFileSync('chmod', ['-R', 'u+w', base]);
  await rm(base, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<RegistryInputError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryInputError);
  return err as RegistryInputError;
}

describe('walking a folder', () => {
  it('finds every regular file, nested, sorted, with /-separated paths', async () => {
    const found = await walkFolder(model);
    expect(found.map((f) => f.path)).toEqual(['model.json', 'onnx/model.onnx', 'vocab.json']);
  });

  it('follows a symlink to a file inside the folder, reading its target', async () => {
    await symlink(join(model, 'vocab.json'), join(model, 'tokenizer.json'));
    const found = await walkFolder(model);
    expect(found.find((f) => f.path === 'tokenizer.json')?.file).toBe(join(model, 'vocab.json'));
  });

  it('refuses a symlink out of the folder, even to a file under the same allowed root', async () => {
    await symlink(join(outside, 'secret'), join(model, 'leak'));
    expect((await refusal(walkFolder(model))).reason).toBe('path-escape');
    await rm(join(model, 'leak'));
    await writeFile(join(base, 'allowed', 'sibling'), 'x');
    await symlink('../sibling', join(model, 'up'));
    const e = await refusal(walkFolder(model));
    expect(e.reason).toBe('path-escape');
    expect(e.message).not.toContain(base); // names the entry in the folder, not where it leads
  });

  it('refuses a symlink to a folder, a broken symlink, and a FIFO', async () => {
    await symlink(join(model, 'onnx'), join(model, 'loop'));
    expect((await refusal(walkFolder(model))).reason).toBe('path-not-regular');
    await rm(join(model, 'loop'));
    await symlink(join(model, 'gone'), join(model, 'broken'));
    expect((await refusal(walkFolder(model))).reason).toBe('path-escape');
    await rm(join(model, 'broken'));
    execFileSync('mkfifo', [join(model, 'fifo')]);
    expect((await refusal(walkFolder(model))).reason).toBe('path-not-regular');
  });

  it('refuses a device reached through a symlink', async () => {
    await symlink('/dev/zero', join(model, 'zero'));
    expect((await refusal(walkFolder(model))).reason).toBe('path-escape');
  });

  it('refuses names a manifest cannot carry, and more files than the bound', async () => {
    await writeFile(join(model, 'back\\slash'), 'x');
    expect((await refusal(walkFolder(model))).reason).toBe('folder-path-invalid');
    await rm(join(model, 'back\\slash'));
    expect((await refusal(walkFolder(model, 2))).reason).toBe('folder-too-large');
  });
});

describe('a folder as a proposed artifact', () => {
  it('registers a folder under allowedPaths: each file and the manifest become blobs', async () => {
    const a = await storedArtifact(src, undefined, model);
    expect(a.kind).toBe('folder');
    const manifest = parseManifest(await readFile(blobs.pathOf(a.sha256)));
    expect(sha256Of(manifestBytes(manifest))).toBe(a.sha256);
    expect(manifest.files).toEqual([
      { path: 'model.json', sha256: digest('{"graph":1}'), size: 11 },
      { path: 'onnx/model.onnx', sha256: digest('onnx bytes'), size: 10 },
      { path: 'vocab.json', sha256: digest('[["a",1]]'), size: 9 },
    ]);
    for (const f of manifest.files) expect(await blobs.has(f.sha256)).toBe(true);
    // The same folder again: the same digest; a named digest must match it.
    expect((await storedArtifact(src, a.sha256, model, 'folder')).sha256).toBe(a.sha256);
    expect((await refusal(storedArtifact(src, 'c'.repeat(64), model))).reason).toBe(
      'digest-mismatch',
    );
  });

  it('refuses a folder root that leaves allowedPaths through a symlink, and a folder proposed as a file', async () => {
    await symlink(outside, join(base, 'allowed', 'out'));
    expect(
      (await refusal(storedArtifact(src, undefined, join(base, 'allowed', 'out')))).reason,
    ).toBe('path-escape');
    expect((await refusal(storedArtifact(src, undefined, model, 'file'))).reason).toBe(
      'artifact-kind',
    );
    const one = join(model, 'model.json');
    expect((await refusal(storedArtifact(src, undefined, one, 'folder'))).reason).toBe(
      'artifact-kind',
    );
  });

  it('proposing an uploaded manifest needs every file it lists stored: 400 naming the missing digest', async () => {
    const present = Buffer.from('present');
    const missing = Buffer.from('missing');
    await blobs.put(digest(present), Readable.from([present]), { maxBytes: 64 });
    const bytes = manifestBytes(
      folderManifest([
        { path: 'a.bin', sha256: digest(present), size: present.length },
        { path: 'b.bin', sha256: digest(missing), size: missing.length },
      ]),
    );
    const sha = sha256Of(bytes);
    await blobs.put(sha, Readable.from([bytes]), { maxBytes: 4096 });
    const e = await refusal(storedArtifact(src, sha, undefined, 'folder'));
    expect(e.reason).toBe('folder-incomplete');
    expect(e.message).toContain(digest(missing));
    expect(e.message).toContain('b.bin');
    // Kind told from the content: without artifact_kind the same check holds.
    expect((await refusal(storedArtifact(src, sha, undefined))).reason).toBe('folder-incomplete');
    await blobs.put(digest(missing), Readable.from([missing]), { maxBytes: 64 });
    expect(await storedArtifact(src, sha, undefined, 'folder')).toMatchObject({
      sha256: sha,
      size: bytes.length,
      kind: 'folder',
    });
    expect((await refusal(storedArtifact(src, sha, undefined, 'file'))).reason).toBe(
      'artifact-kind',
    );
    expect((await refusal(storedArtifact(src, digest(present), undefined, 'folder'))).reason).toBe(
      'artifact-kind',
    );
  });

  it('refuses a blob that starts like a manifest but is not a canonical one', async () => {
    const bytes = Buffer.from('{"kind":"gatehouse.folder/v1","files":[ ]}');
    await blobs.put(sha256Of(bytes), Readable.from([bytes]), { maxBytes: 4096 });
    expect((await refusal(storedArtifact(src, sha256Of(bytes), undefined))).reason).toBe(
      'manifest-invalid',
    );
  });
});

describe('materializing a folder for serving', () => {
  async function stored() {
    const a = await storedArtifact(src, undefined, model);
    const manifest = await servedManifest(blobs, a.sha256);
    if (manifest === undefined) throw new Error('not a folder');
    return { sha256: a.sha256, manifest };
  }

  it('lays out the listed files, read-only, under <dataDir>/artifacts/<sha256>', async () => {
    const { sha256, manifest } = await stored();
    const dir = await materializeFolder(blobs, sha256, manifest);
    expect(dir).toBe(join(base, 'data', 'artifacts', sha256));
    expect(await readFile(join(dir, 'onnx', 'model.onnx'), 'utf8')).toBe('onnx bytes');
    expect((await stat(join(dir, 'model.json'))).ino).toBe(
      (await stat(blobs.pathOf(digest('{"graph":1}')))).ino,
    ); // a hard link, not a copy
    expect((await stat(dir)).mode & 0o777).toBe(0o500);
    expect((await stat(join(dir, 'model.json'))).mode & 0o222).toBe(0);
    // No temp directory is left beside it.
    expect(await readdir(artifactsDirOf(blobs))).toEqual([sha256]);
    expect(await materializeFolder(blobs, sha256, manifest)).toBe(dir);
  });

  it('refuses a blob changed on disk by hand, and leaves nothing half built', async () => {
    const { sha256, manifest } = await stored();
    const shard = blobs.pathOf(digest('onnx bytes'));
    await chmod(shard, 0o600);
    await appendFile(shard, 'tampered');
    await expect(materializeFolder(blobs, sha256, manifest)).rejects.toThrow(FolderArtifactError);
    await expect(materializeFolder(blobs, sha256, manifest)).rejects.toThrow(
      'onnx/model.onnx does not match',
    );
    expect(await readdir(artifactsDirOf(blobs))).toEqual([]);
  });

  it('re-verifies a folder already in place: a file tampered or planted there is not served', async () => {
    const { sha256, manifest } = await stored();
    const dir = await materializeFolder(blobs, sha256, manifest);
    await chmod(dir, 0o700);
    await writeFile(join(dir, 'planted.json'), 'not listed');
    const again = await materializeFolder(blobs, sha256, manifest);
    expect((await readdir(again)).sort()).toEqual(['model.json', 'onnx', 'vocab.json']);
    // A tampered blob behind a folder in place (hard links share it): refused on reuse too.
    const vocab = blobs.pathOf(digest('[["a",1]]'));
    await chmod(vocab, 0o600);
    await writeFile(vocab, '[["b",1]]');
    await expect(materializeFolder(blobs, sha256, manifest)).rejects.toThrow(
      'vocab.json does not match',
    );
  });

  it('refuses a manifest blob changed on disk, before reading any file it lists', async () => {
    const { sha256 } = await stored();
    const path = blobs.pathOf(sha256);
    const other = manifestBytes(
      folderManifest([{ path: 'model.json', sha256: digest('{"graph":1}'), size: 11 }]),
    );
    await chmod(path, 0o600);
    await writeFile(path, other);
    await expect(servedManifest(blobs, sha256)).rejects.toThrow(FolderArtifactError);
  });

  it('says a single-file artifact is not a folder', async () => {
    const one = await storedArtifact(src, undefined, join(model, 'model.json'));
    expect(await servedManifest(blobs, one.sha256)).toBeUndefined();
  });

  it('hashes a folder the same way the CLI does before upload', async () => {
    const a = await storedArtifact(src, undefined, model);
    expect((await hashFolder(model)).sha256).toBe(a.sha256);
  });
});
