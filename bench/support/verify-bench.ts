/**
 * @module bench/support/verify-bench — access-token verification for one signing algorithm: the
 * server's `Verifier` (cache off and on) against raw `node:crypto` on the same token, plus the
 * layers in between (WebCrypto, jose, the structural gate) to show where uncached time goes.
 */
import {
  createPublicKey,
  randomFill,
  verify,
  webcrypto,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { compactVerify } from 'jose';
import type { SigningAlg } from '../../src/auth/index.js';
import { gate } from '../../src/auth/verify/gate.js';
import {
  concurrent,
  medians,
  sequential,
  synchronous,
  type Figure,
  type Schedule,
} from './measure.js';
import { openBenchEnv } from './setup.js';

/** Verifications in flight at once in the concurrent workloads. */
export const VERIFY_WIDTH = 64;

/** Median figures of every workload, for one algorithm. */
export interface VerifyFigures {
  alg: SigningAlg;
  tokenBytes: number;
  /** Full gate, `verifyCacheSize: 0`, one at a time / VERIFY_WIDTH in flight. */
  gateSeq: Figure;
  gateConc: Figure;
  /** Full gate with the verify cache on, same token (every call a hit). */
  cached: Figure;
  /** `crypto.verify` synchronous / callback form with VERIFY_WIDTH in flight. */
  rawSync: Figure;
  rawConc: Figure;
  /** Breakdown, one at a time: callback `crypto.verify`, `subtle.verify`, jose, gate parse. */
  rawAsyncSeq: Figure;
  subtleSeq: Figure;
  joseSeq: Figure;
  parseOnly: Figure;
}

/**
 * The price of one libuv thread-pool round trip with no work in it (`randomFill` of one byte),
 * awaited one at a time: what every async `crypto.verify` and `subtle.verify` pays on top of the
 * signature check.
 */
export async function benchPoolHop(schedule: Schedule): Promise<Figure> {
  const one = Buffer.alloc(1);
  const hop = () =>
    new Promise<void>((resolve, reject) => {
      randomFill(one, (err) => {
        if (err === null) resolve();
        else reject(err);
      });
    });
  const { hop: figure } = await medians({ hop: sequential(32, hop) }, schedule);
  return figure;
}

const DIGEST: Record<SigningAlg, string | null> = { ES256: 'sha256', EdDSA: null, RS256: 'sha256' };
const SUBTLE: Record<SigningAlg, webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams> = {
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
};

/** The signing input and signature of a compact JWS, as `crypto.verify` takes them. */
function splitJws(token: string): { input: Buffer; signature: Buffer } {
  const dot = token.lastIndexOf('.');
  return {
    input: Buffer.from(token.slice(0, dot), 'ascii'),
    signature: Buffer.from(token.slice(dot + 1), 'base64url'),
  };
}

function rawVerifiers(alg: SigningAlg, key: KeyObject, token: string) {
  const { input, signature } = splitJws(token);
  const digest = DIGEST[alg];
  const opts = { key, dsaEncoding: 'ieee-p1363' } as const;
  return {
    sync: (): void => {
      if (!verify(digest, input, opts, signature)) throw new Error('raw verify failed');
    },
    async: () =>
      new Promise<void>((resolve, reject) => {
        verify(digest, input, opts, signature, (err, ok) => {
          if (err !== null) reject(err);
          else if (!ok) reject(new Error('raw verify failed'));
          else resolve();
        });
      }),
  };
}

/** Measures every verification workload for `alg`. */
export async function benchVerify(alg: SigningAlg, schedule: Schedule): Promise<VerifyFigures> {
  const env = await openBenchEnv();
  try {
    // Both share the data dir, so the second opens the key ring the first created.
    const uncached = await env.auth(env.config({ auth: { signingAlg: alg, verifyCacheSize: 0 } }));
    const cachedConfig = env.config({ auth: { signingAlg: alg } });
    const cached = await env.auth(cachedConfig);
    const { token } = await uncached.issuer.issue({
      subject: 'bench',
      clientId: 'bench-client',
      scopes: ['inference:invoke', 'models:read'],
      roles: ['developer'],
      ttl: 600,
    });
    const signingKey = uncached.keys.signingKey();
    if (signingKey.alg !== alg) throw new Error(`key ring signs with ${signingKey.alg}`);
    const publicKey = createPublicKey({
      key: signingKey.publicJwk as JsonWebKey,
      format: 'jwk',
    });
    const raw = rawVerifiers(alg, publicKey, token);
    const { input, signature } = splitJws(token);
    const maxBytes = cachedConfig.auth.maxTokenBytes;
    // Fail before measuring if any path rejects the token.
    await uncached.verifier.verify(token);
    await cached.verifier.verify(token);
    raw.sync();
    await raw.async();

    const gateOnce = () => uncached.verifier.verify(token);
    const m = await medians(
      {
        gateSeq: sequential(32, gateOnce),
        gateConc: concurrent(VERIFY_WIDTH, gateOnce),
        cached: sequential(1000, () => cached.verifier.verify(token)),
        rawSync: synchronous(256, raw.sync),
        rawConc: concurrent(VERIFY_WIDTH, raw.async),
        rawAsyncSeq: sequential(32, raw.async),
        subtleSeq: sequential(32, async () => {
          const ok = await webcrypto.subtle.verify(
            SUBTLE[alg],
            signingKey.publicKey,
            signature,
            input,
          );
          if (!ok) throw new Error('subtle verify failed');
        }),
        joseSeq: sequential(32, () =>
          compactVerify(token, signingKey.publicKey, { algorithms: [alg] }),
        ),
        parseOnly: synchronous(256, () => gate(token, maxBytes)),
      },
      schedule,
    );
    return { alg, tokenBytes: token.length, ...m };
  } finally {
    await env.close();
  }
}
