import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegistryInputError } from './errors.js';
import {
  FOLDER_KIND,
  folderManifest,
  looksLikeManifest,
  manifestBytes,
  MAX_FOLDER_FILES,
  MAX_FOLDER_PATH,
  parseManifest,
  sha256Of,
  validFolderPath,
  type FolderFile,
} from './folders.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const file = (path: string, sha256 = A, size = 3): FolderFile => ({ path, sha256, size });

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryInputError);
    expect((err as RegistryInputError).statusCode).toBe(400);
    return (err as RegistryInputError).reason;
  }
  throw new Error('not refused');
}

describe('validFolderPath', () => {
  it('accepts relative paths with nested folders', () => {
    expect(validFolderPath('model.json')).toBe('model.json');
    expect(validFolderPath('onnx/model_quantized.onnx')).toBe('onnx/model_quantized.onnx');
    expect(validFolderPath('.hidden/a..b')).toBe('.hidden/a..b');
  });

  it.each([
    ['..', "'..' segment"],
    ['../outside', "'..' segment"],
    ['a/../../etc/passwd', "'..' segment"],
    ['a/./b', "'.' segment"],
    ['/etc/passwd', 'absolute'],
    ['a\\..\\b', 'backslash'],
    ['C:\\model.onnx', 'backslash'],
    ['model.json\0.txt', 'NUL'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['', 'empty'],
    ['line\nbreak', 'control character'],
    ['x'.repeat(MAX_FOLDER_PATH + 1), 'longer than'],
    [`${'y'.repeat(256)}/z`, 'segment is longer'],
  ])('refuses %j (%s)', (path, rule) => {
    expect(reasonOf(() => validFolderPath(path))).toBe('folder-path-invalid');
    expect(() => validFolderPath(path)).toThrow(rule);
  });

  it('refuses what is not a string', () => {
    expect(reasonOf(() => validFolderPath(42))).toBe('folder-path-invalid');
  });
});

describe('folderManifest', () => {
  it('sorts files by path in code-unit order, whatever the input order', () => {
    const m = folderManifest([file('vocab.json'), file('Z.bin'), file('a/b'), file('model.json')]);
    expect(m.kind).toBe(FOLDER_KIND);
    expect(m.files.map((f) => f.path)).toEqual(['Z.bin', 'a/b', 'model.json', 'vocab.json']);
  });

  it('refuses the same path twice', () => {
    expect(reasonOf(() => folderManifest([file('model.json'), file('model.json', B)]))).toBe(
      'manifest-invalid',
    );
  });

  it('refuses a path that is both a file and a folder', () => {
    expect(() => folderManifest([file('onnx'), file('onnx/model.onnx')])).toThrow(
      'both as a file and as a folder',
    );
  });

  it('refuses no files, and more than the bound', () => {
    expect(reasonOf(() => folderManifest([]))).toBe('manifest-invalid');
    const many = Array.from({ length: MAX_FOLDER_FILES + 1 }, (_, i) => file(`f${String(i)}`));
    expect(reasonOf(() => folderManifest(many))).toBe('folder-too-large');
    expect(folderManifest(many.slice(1)).files).toHaveLength(MAX_FOLDER_FILES);
  });

  it('refuses bad digests and sizes', () => {
    expect(reasonOf(() => folderManifest([file('a', 'A'.repeat(64))]))).toBe('digest-invalid');
    expect(reasonOf(() => folderManifest([file('a', A, -1)]))).toBe('manifest-invalid');
    expect(reasonOf(() => folderManifest([file('a', A, 1.5)]))).toBe('manifest-invalid');
  });
});

describe('manifest bytes', () => {
  const m = folderManifest([file('vocab.json', B, 10), file('model.json', A, 3)]);
  const bytes = manifestBytes(m);

  it('are canonical JSON that starts with the kind', () => {
    expect(bytes.toString()).toBe(
      `{"kind":"${FOLDER_KIND}","files":[{"path":"model.json","sha256":"${A}","size":3},{"path":"vocab.json","sha256":"${B}","size":10}]}`,
    );
    expect(looksLikeManifest(bytes)).toBe(true);
    expect(looksLikeManifest(Buffer.from('GGUF\x03\0\0\0'))).toBe(false);
  });

  it('parse back to the same manifest', () => {
    expect(parseManifest(bytes)).toEqual(m);
  });

  it('refuse any other spelling of the same folder, so one folder has one digest', () => {
    const spaced = Buffer.from(JSON.stringify(JSON.parse(bytes.toString()), null, 1));
    expect(reasonOf(() => parseManifest(spaced))).toBe('manifest-invalid');
    const unsorted = Buffer.from(
      JSON.stringify({ kind: FOLDER_KIND, files: [...m.files].reverse() }),
    );
    expect(() => parseManifest(unsorted)).toThrow('canonical form');
    const extra = Buffer.from(
      JSON.stringify({ kind: FOLDER_KIND, files: m.files.map((f) => ({ ...f, mode: 1 })) }),
    );
    expect(reasonOf(() => parseManifest(extra))).toBe('manifest-invalid');
  });

  it('refuse manifests with adversarial paths even when otherwise well formed', () => {
    for (const path of ['../x', '/abs', 'a\\b', 'nul\0']) {
      const raw = Buffer.from(
        JSON.stringify({ kind: FOLDER_KIND, files: [{ path, sha256: A, size: 1 }] }),
      );
      expect(reasonOf(() => parseManifest(raw))).toBe('folder-path-invalid');
    }
  });

  it('refuse what is not a manifest: other kinds, not JSON, not UTF-8', () => {
    expect(reasonOf(() => parseManifest(Buffer.from('{"kind":"other","files":[]}')))).toBe(
      'manifest-invalid',
    );
    expect(reasonOf(() => parseManifest(Buffer.from('not json')))).toBe('manifest-invalid');
    expect(reasonOf(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d])))).toBe('manifest-invalid');
  });

  it('round-trip any valid folder, and any bytes either parse or are refused with a 400', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => !/^\.\.?$/.test(s));
    const entry = fc.record({
      path: fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
      size: fc.nat(),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { minLength: 1, maxLength: 8, selector: (e) => e.path }),
        (files) => {
          let m;
          try {
            m = folderManifest(files);
          } catch (err) {
            // A path that is a prefix folder of another: refused, never thrown as anything else.
            expect((err as RegistryInputError).reason).toBe('manifest-invalid');
            return;
          }
          const bytes = manifestBytes(m);
          expect(parseManifest(bytes)).toEqual(m);
          expect(sha256Of(manifestBytes(folderManifest([...files].reverse())))).toBe(
            sha256Of(bytes),
          );
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseManifest(Buffer.from(s));
        } catch (err) {
          expect(err).toBeInstanceOf(RegistryInputError);
        }
      }),
    );
  });
});
