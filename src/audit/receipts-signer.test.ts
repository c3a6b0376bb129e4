/**
 * The receipt signer with the server's real KeyRing: both modes and every signing algorithm,
 * group commit (receipts asked for together share a signature, a lone one is signed at once),
 * the batch size cap, key rotation, close, and the claims encoding it writes by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { KeyRing, type SigningAlg } from '../auth/index.js';
import { openStore } from '../store/index.js';
import { canonicalize } from './canonical.js';
import { createReceiptSigner, ReceiptSignerClosedError } from './receipts-signer.js';
import { verifyReceipt } from './receipts-verify.js';
import { encodeClaims, type ReceiptSubject } from './receipts.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-receipts-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let now = 1_800_000_000_000;
const clock = () => now;
let files = 0;
const ring = async (alg: SigningAlg = 'ES256') => {
  // A store of its own for each ring (the keys live in the store).
  const store = await openStore({ dataDir: join(dir, `data-${String(++files)}`) });
  onTestFinished(() => store.close());
  return KeyRing.open({ store: store.keys, masterKey: undefined, alg, clock, retention: 3600 });
};

const subject = (seq: number): ReceiptSubject => ({
  sub: 'client:alice',
  client_id: 'alice',
  request_id: `req-${String(seq)}`,
  model: 'chat-small',
  model_sha256: 'd'.repeat(64),
  prompt_sha256: 'a'.repeat(64),
  output_sha256: 'b'.repeat(64),
  chain: 'replica-a',
  seq,
});
const jwsOf = (r: string) => r.split('~')[0] ?? '';
const kidOf = (r: string) =>
  (JSON.parse(Buffer.from(r.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

describe('createReceiptSigner', () => {
  it('signs verifiable receipts in both modes with every signing algorithm', async () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
      const keys = await ring(alg);
      for (const mode of ['batch', 'single'] as const) {
        const signer = createReceiptSigner({ keys, issuer: 'https://gh.test', clock, mode });
        const rs = await Promise.all([1, 2, 3].map((i) => signer.sign(subject(i))));
        for (const [i, r] of rs.entries()) {
          expect(r.includes('~')).toBe(mode === 'batch');
          expect(await verifyReceipt(r, keys.jwks())).toEqual({
            ...subject(i + 1),
            iss: 'https://gh.test',
            iat: now / 1000,
          });
        }
        await signer.close();
      }
    }
  });

  it('signs receipts asked for together under one signature, and a lone receipt at once', async () => {
    const signer = createReceiptSigner({ keys: await ring(), issuer: 'https://gh.test', clock });
    const together = await Promise.all([1, 2, 3, 4, 5].map((i) => signer.sign(subject(i))));
    expect(new Set(together.map(jwsOf)).size).toBe(1);
    expect(signer.stats()).toEqual({ receipts: 5, signatures: 1 });
    const lone = await signer.sign(subject(6));
    expect(
      JSON.parse(Buffer.from(jwsOf(lone).split('.')[1] ?? '', 'base64url').toString()),
    ).toEqual(expect.objectContaining({ tree_size: 1 }));
    await signer.close();
  });

  it('caps a batch at maxBatch receipts', async () => {
    const signer = createReceiptSigner({
      keys: await ring(),
      issuer: 'https://gh.test',
      clock,
      maxBatch: 4,
    });
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => signer.sign(subject(i + 1))));
    const sizes = [...new Set(rs.map(jwsOf))].map(
      (jws) => rs.filter((r) => jwsOf(r) === jws).length,
    );
    expect(sizes).toEqual([4, 4, 2]);
    await signer.close();
    expect(() =>
      createReceiptSigner({
        keys: {
          signingKey: () => {
            throw new Error();
          },
        },
        issuer: 'x',
        clock,
        maxBatch: 0,
      }),
    ).toThrow(RangeError);
  });

  it('with delayMs, keeps a batch open across turns of the event loop until full or closed', async () => {
    const keys = await ring();
    // The delay's timer never fires by itself: only a full batch or close() can end it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const signer = createReceiptSigner({
        keys,
        issuer: 'https://gh.test',
        clock,
        delayMs: 1000,
        maxBatch: 3,
      });
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      let settled = 0;
      const ask = (seq: number) => signer.sign(subject(seq)).finally(() => settled++);
      const first = ask(1);
      await turn();
      const second = ask(2);
      await turn();
      await turn();
      expect(settled).toBe(0);
      const full = await Promise.all([first, second, ask(3)]); // full: signed at once
      expect(new Set(full.map(jwsOf)).size).toBe(1);
      const last = ask(4);
      await turn();
      expect(settled).toBe(3);
      await signer.close(); // a closing signer does not wait either
      await expect(verifyReceipt(await last, keys.jwks())).resolves.toMatchObject({ seq: 4 });
      expect(signer.stats()).toEqual({ receipts: 4, signatures: 2 });
    } finally {
      vi.useRealTimers();
    }
    const never = { signingKey: () => keys.signingKey() };
    expect(() => createReceiptSigner({ keys: never, issuer: 'x', clock, delayMs: -1 })).toThrow(
      RangeError,
    );
  });

  it('signs with the new key once a rotation activates; old receipts still verify', async () => {
    const keys = await ring();
    const signer = createReceiptSigner({ keys, issuer: 'https://gh.test', clock });
    const before = await signer.sign(subject(1));
    const kid = await keys.rotate('ES256', 0);
    const after = await signer.sign(subject(2));
    expect(kidOf(after)).toBe(kid);
    expect(kidOf(before)).not.toBe(kid);
    for (const r of [before, after])
      await expect(verifyReceipt(r, keys.jwks())).resolves.toBeTruthy();
    await signer.close();
  });

  it('rejects the receipts of a batch it cannot sign, and bad subjects, without stopping', async () => {
    let broken = true;
    const good = await ring();
    const signer = createReceiptSigner({
      keys: {
        signingKey: () => {
          if (broken) throw new Error('no active signing key');
          return good.signingKey();
        },
      },
      issuer: 'https://gh.test',
      clock,
    });
    const failed = await Promise.allSettled([signer.sign(subject(1)), signer.sign(subject(2))]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    await expect(signer.sign({ ...subject(3), prompt_sha256: 'ABC' })).rejects.toThrow(
      'receipt prompt_sha256 must be 64 lower-case hex digits',
    );
    await expect(signer.sign({ ...subject(3), seq: 1.5 })).rejects.toThrow(TypeError);
    broken = false;
    await expect(verifyReceipt(await signer.sign(subject(4)), good.jwks())).resolves.toBeTruthy();
    await signer.close();
  });

  it('close signs what is pending, then refuses new receipts', async () => {
    const signer = createReceiptSigner({ keys: await ring(), issuer: 'https://gh.test', clock });
    const pending = [signer.sign(subject(1)), signer.sign(subject(2))];
    await signer.close();
    expect((await Promise.all(pending)).length).toBe(2);
    await expect(signer.sign(subject(3))).rejects.toThrow(ReceiptSignerClosedError);
    now += 1000;
  });
});

describe('encodeClaims', () => {
  it('writes exactly the RFC 8785 bytes canonicalize writes', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(
        fc.record({
          sub: text,
          client_id: fc.option(text, { nil: null }),
          request_id: text,
          model: text,
          model_sha256: fc.option(hex, { nil: null }),
          prompt_sha256: hex,
          output_sha256: hex,
          chain: text,
          seq: fc.maxSafeNat(),
        }),
        text,
        fc.maxSafeNat(),
        (s, iss, iat) => {
          expect(encodeClaims(s, iss, iat)).toBe(canonicalize({ ...s, iss, iat }));
        },
      ),
    );
  });
});
