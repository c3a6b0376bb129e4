import { generateKeyPairSync, sign } from 'node:crypto';
import { importSPKI, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifySignature } from './signature.js';

const input = Buffer.from('eyJhbGciOiJ4In0.eyJzdWIiOiJ4In0');

async function pair(
  kind: 'ec' | 'ed25519' | 'rsa',
  opts: { namedCurve?: string; modulusLength?: number },
  alg: string,
): Promise<{ pub: CryptoKey; priv: ReturnType<typeof generateKeyPairSync>['privateKey'] }> {
  const { publicKey, privateKey } =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: opts.namedCurve ?? 'P-256' })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: opts.modulusLength ?? 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { pub: await importSPKI(pem, alg), priv: privateKey };
}

describe('verifySignature', () => {
  it('verifies ES256 (IEEE P1363 r||s), EdDSA, RS256 and PS256 signatures', async () => {
    const es = await pair('ec', {}, 'ES256');
    const esSig = sign('sha256', input, { key: es.priv, dsaEncoding: 'ieee-p1363' });
    expect(esSig).toHaveLength(64);
    expect(await verifySignature('ES256', es.pub, input, esSig)).toBe(true);

    const ed = await pair('ed25519', {}, 'EdDSA');
    expect(await verifySignature('EdDSA', ed.pub, input, sign(null, input, ed.priv))).toBe(true);

    const rs = await pair('rsa', {}, 'RS256');
    expect(verifySignature('RS256', rs.pub, input, sign('sha256', input, rs.priv))).toBe(true);

    const ps = await pair('rsa', {}, 'PS256');
    const psSig = sign('sha256', input, { key: ps.priv, padding: 6, saltLength: 32 });
    expect(verifySignature('PS256', ps.pub, input, psSig)).toBe(true);
  });

  it('refuses a DER-encoded ECDSA signature (JWS uses r||s)', async () => {
    const es = await pair('ec', {}, 'ES256');
    const der = sign('sha256', input, es.priv);
    expect(await verifySignature('ES256', es.pub, input, der)).toBe(false);
  });

  it('refuses a tampered input or signature', async () => {
    const ed = await pair('ed25519', {}, 'EdDSA');
    const sig = sign(null, input, ed.priv);
    expect(await verifySignature('EdDSA', ed.pub, Buffer.from(`${input.toString()}x`), sig)).toBe(
      false,
    );
    sig[0] = (sig[0] ?? 0) ^ 1;
    expect(await verifySignature('EdDSA', ed.pub, input, sig)).toBe(false);
  });

  it.each([
    ['an ES256 key used as ES384', 'ec', {}, 'ES256', 'ES384'],
    ['a P-384 key used as ES256', 'ec', { namedCurve: 'P-384' }, 'ES384', 'ES256'],
    ['an Ed25519 key used as ES256', 'ed25519', {}, 'EdDSA', 'ES256'],
    ['an RSA key used as EdDSA', 'rsa', {}, 'RS256', 'EdDSA'],
    ['an EC key used as RS256', 'ec', {}, 'ES256', 'RS256'],
    ['an RSA key used as HS256', 'rsa', {}, 'RS256', 'HS256'],
    ['an RSA key used as none', 'rsa', {}, 'RS256', 'none'],
  ] as const)('never verifies with %s', async (_name, kind, opts, importAlg, alg) => {
    const k = await pair(kind, opts, importAlg);
    const sig =
      kind === 'ec'
        ? sign('sha256', input, { key: k.priv, dsaEncoding: 'ieee-p1363' })
        : sign(kind === 'ed25519' ? null : 'sha256', input, k.priv);
    expect(await verifySignature(alg, k.pub, input, sig)).toBe(false);
  });

  it('refuses RSA keys shorter than 2048 bits', async () => {
    const rs = await pair('rsa', { modulusLength: 1024 }, 'RS256');
    expect(verifySignature('RS256', rs.pub, input, sign('sha256', input, rs.priv))).toBe(false);
  });
});
