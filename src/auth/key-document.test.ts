import { describe, expect, it } from 'vitest';
import { KeyCodec, KeyDecryptError, type KeyRingContent } from './key-document.js';

const goodKey = {
  kid: 'k1',
  alg: 'ES256',
  createdAt: 1,
  retiredAt: null,
  publicJwk: { kty: 'EC' },
  private: { enc: 'none', jwk: { kty: 'EC', d: 'SECRET-MATERIAL' } },
};

const MASTER = 'correct horse battery staple 0123';

describe('KeyCodec', () => {
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
    [
      'an archived key with a private member',
      JSON.stringify({
        version: 1,
        keys: [],
        archive: [{ kid: 'a', alg: 'ES256', createdAt: 1, retiredAt: 2, publicJwk: { d: 'x' } }],
      }),
      /unknown format \(at archive\.0\.publicJwk\)/,
    ],
  ])('refuses %s with a message that names where, never what', (_, content, message) => {
    const read = () => new KeyCodec(undefined).parse(content, 'key file x');
    expect(read).toThrow(KeyDecryptError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (err) {
      expect((err as Error).message).not.toContain('SECRET-MATERIAL');
    }
  });

  it('reads a well-formed document', () => {
    const text = JSON.stringify({ version: 1, keys: [goodKey] });
    const [entry] = new KeyCodec(undefined).parse(text, 'key file x').entries;
    expect(entry?.key.kid).toBe('k1');
    expect(entry?.privateJwk).toEqual({ kty: 'EC', d: 'SECRET-MATERIAL' });
  });

  describe('with a master key', () => {
    const content: KeyRingContent = {
      entries: [{ key: goodKey as never, privateJwk: { kty: 'EC', d: 'SECRET-MATERIAL' } }],
      archive: [],
    };

    it('seals every private JWK, and reads it back with the same master key only', () => {
      const text = new KeyCodec(MASTER).serialize(content);
      expect(text).not.toContain('SECRET-MATERIAL');
      expect(text).not.toContain('"d"');
      const doc = JSON.parse(text) as { salt: string; keys: { private: { enc: string } }[] };
      expect(doc.salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(doc.keys.map((k) => k.private.enc)).toEqual(['A256GCM']);
      expect(new KeyCodec(MASTER).parse(text, 'x').entries[0]?.privateJwk).toEqual(
        content.entries[0]?.privateJwk,
      );
      expect(() => new KeyCodec(undefined).parse(text, 'x')).toThrow(/set GATEHOUSE_MASTER_KEY/);
      expect(() => new KeyCodec('another master key, not ours').parse(text, 'x')).toThrow(
        /wrong GATEHOUSE_MASTER_KEY/,
      );
    });

    it('keeps the salt of the document across writes', () => {
      const codec = new KeyCodec(MASTER);
      const first = codec.parse(codec.serialize(content), 'x');
      const second = JSON.parse(codec.serialize(first)) as { salt: string };
      expect(second.salt).toBe(first.salt);
    });

    it.each([
      [
        'the ciphertext',
        (k: Sealed) => ({ ...k, private: { ...k.private, data: flip(k.private.data) } }),
      ],
      ['the tag', (k: Sealed) => ({ ...k, private: { ...k.private, tag: flip(k.private.tag) } })],
      ['the iv', (k: Sealed) => ({ ...k, private: { ...k.private, iv: flip(k.private.iv) } })],
      ['the kid (bound as additional data)', (k: Sealed) => ({ ...k, kid: 'k2' })],
    ])('refuses a document whose %s was changed', (_, tamper) => {
      const codec = new KeyCodec(MASTER);
      const doc = JSON.parse(codec.serialize(content)) as { keys: Sealed[] };
      const text = JSON.stringify({ ...doc, keys: doc.keys.map(tamper) });
      expect(() => codec.parse(text, 'the key ring in the store')).toThrow(
        new KeyDecryptError(
          'cannot decrypt signing keys: wrong GATEHOUSE_MASTER_KEY or damaged the key ring in the store',
        ),
      );
    });
  });
});

interface Sealed {
  kid: string;
  private: { iv: string; tag: string; data: string };
}

/** `b64u` with its first byte changed. */
function flip(b64u: string): string {
  const bytes = Buffer.from(b64u, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}
