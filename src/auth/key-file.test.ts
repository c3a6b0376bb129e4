import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyDecryptError, KeyFile } from './key-file.js';

function fileWith(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-keyfile-')), 'keys.json');
  writeFileSync(file, content);
  return file;
}

const goodKey = {
  kid: 'k1',
  alg: 'ES256',
  createdAt: 1,
  retiredAt: null,
  publicJwk: { kty: 'EC' },
  private: { enc: 'none', jwk: { kty: 'EC', d: 'SECRET-MATERIAL' } },
};

describe('KeyFile', () => {
  it.each([
    ['not JSON', '{"version":1,', /not valid JSON/],
    ['another version', JSON.stringify({ version: 2, keys: [] }), /unknown format \(at version\)/],
    [
      'a key without its private part',
      JSON.stringify({ version: 1, keys: [{ ...goodKey, private: undefined }] }),
      /unknown format \(at keys\.0\.private\)/,
    ],
    [
      'a sealed key missing its tag',
      JSON.stringify({
        version: 1,
        keys: [{ ...goodKey, private: { enc: 'A256GCM', iv: 'AAAA', data: 'AAAA' } }],
      }),
      /unknown format \(at keys\.0\.private\.tag\)/,
    ],
    [
      'a kid that is not a string',
      JSON.stringify({ version: 1, keys: [{ ...goodKey, kid: 7 }] }),
      /unknown format \(at keys\.0\.kid\)/,
    ],
  ])('refuses %s with a message that names where, never what', (_, content, message) => {
    const file = fileWith(content);
    const read = () => new KeyFile(file, undefined).read();
    expect(read).toThrow(KeyDecryptError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (err) {
      expect((err as Error).message).not.toContain('SECRET-MATERIAL');
    }
  });

  it('reads a well-formed file', () => {
    const file = fileWith(JSON.stringify({ version: 1, keys: [goodKey] }));
    const [entry] = new KeyFile(file, undefined).read();
    expect(entry?.key.kid).toBe('k1');
    expect(entry?.privateJwk).toEqual({ kty: 'EC', d: 'SECRET-MATERIAL' });
  });
});
