/**
 * Adversarial tokens against the Verifier, part 2 of 5: the protected header — members that
 * carry or point at a key (jwk, jku, x5u, x5c) or change processing (crit, b64, JWE), a hostile
 * `kid`, and a `typ` that is not an access token's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, CompactEncrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackerEc, useAdversarySuite } from '../../../test/support/adversary.js';
import { forge } from '../../../test/support/jws.js';

const { fx, refused, ownHeader, ringForge } = useAdversarySuite();

describe('key-carrying and processing-changing headers', () => {
  let server: Server;
  let hits = 0;
  let base = '';
  const attacker = attackerEc();

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ keys: [{ ...attacker.jwk, kid: 'evil', alg: 'ES256', use: 'sig' }] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  const evil = (extra: Record<string, unknown>) =>
    forge(
      { alg: 'ES256', kid: 'evil', typ: 'at+jwt', ...extra },
      fx.claims(),
      'ES256',
      attacker.privateKey,
    );

  it('the attacker key server is reachable (so zero hits below means it was not asked)', async () => {
    const res = await fetch(`${base}/jwks.json`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(hits).toBe(1);
    hits = 0;
  });

  it('refuses an embedded jwk header carrying the attacker key', async () => {
    const token = evil({ jwk: attacker.jwk, kid: await calculateJwkThumbprint(attacker.jwk) });
    await refused(token, 'forbidden_header');
  });

  it('refuses jku pointing at an attacker JWKS and never fetches it', async () => {
    await refused(evil({ jku: `${base}/jwks.json` }), 'forbidden_header');
    expect(hits).toBe(0);
  });

  it('refuses x5u pointing at an attacker certificate and never fetches it', async () => {
    await refused(evil({ x5u: `${base}/cert.pem` }), 'forbidden_header');
    expect(hits).toBe(0);
  });

  it('refuses an x5c chain', async () => {
    // Not a real certificate: the gate must refuse the member by name, before parsing it.
    const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await refused(evil({ x5c: [der] }), 'forbidden_header');
  });

  it('refuses jku even on a token signed with our real key', async () => {
    await refused(
      ringForge(ownHeader({ jku: `${base}/jwks.json` }), fx.claims()),
      'forbidden_header',
    );
    expect(hits).toBe(0);
  });

  it('refuses crit naming an extension', async () => {
    await refused(ringForge(ownHeader({ crit: ['exp'], exp: 1 }), fx.claims()), 'forbidden_header');
  });

  it('refuses b64:false (unencoded payload, RFC 7797)', async () => {
    await refused(
      ringForge(ownHeader({ b64: false, crit: ['b64'] }), fx.claims()),
      'forbidden_header',
    );
  });

  it('refuses a JWE (five segments)', async () => {
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(fx.claims())))
      .setProtectedHeader({
        alg: 'dir',
        enc: 'A256GCM',
        kid: fx.ring.signingKey().kid,
        typ: 'at+jwt',
      })
      .encrypt(new Uint8Array(32));
    expect(jwe.split('.')).toHaveLength(5);
    await refused(jwe, 'malformed');
  });
});

describe('kid injection (real key, real claims, only the kid is hostile)', () => {
  const unknown = [
    '../../etc/passwd',
    "'OR'1'='1'--",
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ];
  for (const kid of unknown) {
    it(`treats kid ${JSON.stringify(kid)} as an unknown key`, async () => {
      await refused(ringForge(ownHeader({ kid }), fx.claims()), 'unknown_key');
    });
  }

  const malformedKids: [string, unknown][] = [
    ['SQL with spaces', "' OR 1=1 --"],
    ['an object', { $ne: null }],
    ['an array', ['k1']],
    ['a number', 1],
    ['null', null],
    ['empty', ''],
    ['129 characters', 'k'.repeat(129)],
    ['with a newline', 'abc\n'],
  ];
  for (const [name, kid] of malformedKids) {
    it(`refuses a kid that is ${name}`, async () => {
      await refused(ringForge(ownHeader({ kid }), fx.claims()), 'bad_kid');
    });
  }

  it('refuses a missing kid', async () => {
    const { kid: _kid, ...header } = ownHeader();
    await refused(ringForge(header, fx.claims()), 'bad_kid');
  });

  it('refuses a 10 KB kid by size before anything else', async () => {
    await refused(ringForge(ownHeader({ kid: 'k'.repeat(10 * 1024) }), fx.claims()), 'too_large');
  });

  it('refuses a 10 KB kid by its length when the size limit is raised', async () => {
    const roomy = fx.makeVerifier({ maxTokenBytes: 64 * 1024 });
    await refused(
      ringForge(ownHeader({ kid: 'k'.repeat(10 * 1024) }), fx.claims()),
      'bad_kid',
      roomy,
    );
  });
});

describe('typ', () => {
  it('refuses an ID-token typ "JWT"', async () => {
    await refused(ringForge(ownHeader({ typ: 'JWT' }), fx.claims()), 'bad_typ');
  });

  it('refuses a DPoP proof typ "dpop+jwt"', async () => {
    await refused(ringForge(ownHeader({ typ: 'dpop+jwt' }), fx.claims()), 'bad_typ');
  });

  it('refuses a missing typ', async () => {
    const { typ: _typ, ...header } = ownHeader();
    await refused(ringForge(header, fx.claims()), 'bad_typ');
  });

  it('refuses a non-string typ', async () => {
    await refused(ringForge(ownHeader({ typ: ['at+jwt'] }), fx.claims()), 'bad_typ');
  });
});
