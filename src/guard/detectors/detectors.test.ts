import { describe, expect, it } from 'vitest';
import { adversarialInputs } from '../../../test/fixtures/guard/pii-corpus.adversarial.js';
import type { Detector } from '../types.js';
import { base62Checksum } from './api-key.js';
import { builtinDetectors } from './index.js';
import { apiKeyDetector, cardDetector, emailDetector, ibanDetector, ipDetector } from './index.js';
import { jwtDetector, phoneDetector, privateKeyDetector, ssnDetector } from './index.js';

function values(d: Detector, text: string): string[] {
  return d.detect(text).map((f) => text.slice(f.start, f.end));
}

describe('email', () => {
  const d = emailDetector();
  it('finds addresses and trims sentence punctuation', () => {
    expect(values(d, 'write to a.b+c@mail.example.org. or x_y@firma.de')).toEqual([
      'a.b+c@mail.example.org',
      'x_y@firma.de',
    ]);
  });
  it('rejects non-addresses', () => {
    expect(values(d, 'user@localhost, a@b.c, @handle, foo@bar..com, a..b@ex.com, x@1.2')).toEqual(
      [],
    );
  });
});

describe('phone', () => {
  const d = phoneDetector();
  it.each([
    '+1 415-555-2671',
    '(415) 555-2671',
    '415.555.2671',
    '1-800-555-0199',
    '+44 20 7946 0958',
    '+44 (0)20 7946 0958',
    '07700 900123',
    '+49 30 12345678',
    '0151 23456789',
    '089/1234567',
    '+33 6 12 34 56 78',
    '06 12 34 56 78',
    '+34 612 345 678',
    '612 345 678',
    '+39 347 123 4567',
    '+31 6 12345678',
    '06-12345678',
    '+91 98765 43210',
    '98765 43210',
    '+55 11 91234-5678',
    '(21) 2345-6789',
    '+81 3-1234-5678',
    '090-1234-5678',
    '+86 138 0013 8000',
    '138 0013 8000',
    '010-12345678',
    '+61 412 345 678',
    '(02) 9876 5432',
    '+14155552671',
  ])('finds %s', (p) => {
    expect(values(d, `tel: ${p}, thanks`)).toEqual([p]);
  });
  it.each([
    '2024-01-15',
    '15.01.2024',
    '01/15/2024',
    '2024-01-15 10:30:00',
    '10:30:45',
    'v1.2.3',
    '10.0.19045.3803',
    'ORD-2024-000123',
    '#100234567',
    '1700000000',
    '192.168.100.200',
    '4155552671',
    '123-45-6789',
    '+999 1234',
    '1 234 567,89',
    '912.345.678',
    '0012 3456 789',
  ])('ignores %s', (p) => {
    expect(values(d, `x ${p} y`)).toEqual([]);
  });
});

describe('credit card', () => {
  const d = cardDetector();
  it('finds Luhn-valid numbers of real issuer ranges, grouped or not', () => {
    const t =
      'v 4111 1111 1111 1111, mc 5555-5555-5555-4444, amex 378282246310005, 4242424242424242 123';
    expect(values(d, t)).toEqual([
      '4111 1111 1111 1111',
      '5555-5555-5555-4444',
      '378282246310005',
      '4242424242424242',
    ]);
  });
  it('rejects Luhn failures, unknown ranges, wrong lengths and mixed separators', () => {
    const t =
      '4111 1111 1111 1112, 9111111111111111, 41111111111111, 4111 1111-1111 1111, 1.4111111111111111';
    expect(values(d, t)).toEqual([]);
  });
});

describe('IBAN', () => {
  const d = ibanDetector();
  it('finds valid IBANs compact and grouped', () => {
    expect(values(d, 'DE89370400440532013000 / GB82 WEST 1234 5698 7654 32.')).toEqual([
      'DE89370400440532013000',
      'GB82 WEST 1234 5698 7654 32',
    ]);
  });
  it('rejects bad check digits, wrong lengths and unknown countries', () => {
    expect(
      values(d, 'DE88370400440532013000 DE8937040044053201300 ZZ89370400440532013000'),
    ).toEqual([]);
  });
});

describe('US SSN', () => {
  const d = ssnDetector();
  it('applies the area/group/serial rules', () => {
    const t =
      'ok 123-45-6789, 078 05 1120; bad 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 1123-45-6789 123-45-67890';
    expect(values(d, t)).toEqual(['123-45-6789', '078 05 1120']);
  });
});

describe('IP address', () => {
  const d = ipDetector();
  it('finds IPv4 and IPv6 forms', () => {
    const t =
      'a 10.0.0.1:8080 b [2001:db8::1] c fe80::1ff:fe23:4567:890a d ::ffff:192.0.2.128 e ::1. f 2001:0db8:0000:0000:0000:ff00:0042:8329';
    expect(values(d, t)).toEqual([
      '10.0.0.1',
      '2001:db8::1',
      'fe80::1ff:fe23:4567:890a',
      '::ffff:192.0.2.128',
      '::1',
      '2001:0db8:0000:0000:0000:ff00:0042:8329',
    ]);
  });
  it('ignores version strings, long dotted runs, times, MACs and C++ scopes', () => {
    const t =
      'v1.2.3.4 1.2.3.4.5 version 1.2.3.4 Chrome/120.0.0.1 256.1.1.1 01.2.3.4 10:30:00 00:1A:2B:3C:4D:5E std::vector a::b';
    expect(values(d, t)).toEqual([]);
  });
});

describe('private key', () => {
  const d = privateKeyDetector();
  it('finds whole PEM blocks of every kind, and unterminated ones up to their body end', () => {
    const k = (l: string): string =>
      `-----BEGIN ${l}-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\nAT8wggE7AgEAAkEAq7BFUpkGp3+XQ==\n-----END ${l}-----`;
    const labels = [
      'RSA PRIVATE KEY',
      'EC PRIVATE KEY',
      'DSA PRIVATE KEY',
      'PRIVATE KEY',
      'ENCRYPTED PRIVATE KEY',
      'OPENSSH PRIVATE KEY',
      'PGP PRIVATE KEY BLOCK',
    ];
    const t = labels.map(k).join('\n\n');
    expect(values(d, t)).toEqual(labels.map(k));
    expect(values(d, 'x -----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\nAT8wgg\n\n')).toEqual([
      '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\nAT8wgg',
    ]);
  });
  it('ignores public keys and certificates', () => {
    expect(
      values(
        d,
        '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      ),
    ).toEqual([]);
  });
});

describe('JWT', () => {
  const d = jwtDetector();
  const h = Buffer.from('{"alg":"ES256","typ":"at+jwt"}').toString('base64url');
  const p = Buffer.from('{"sub":"u1"}').toString('base64url');
  it('finds JWS and JWE compact tokens whose header has alg', () => {
    const jws = `${h}.${p}.c2lnbmF0dXJlLWJ5dGVz`;
    const jwe = `${h}.ZW5jcnlwdGVkLWtleQ.aXY.Y2lwaGVydGV4dA.dGFn`;
    expect(values(d, `Authorization: Bearer ${jws}\n${jwe}`)).toEqual([jws, jwe]);
  });
  it('ignores dotted base64 whose header is not a JOSE header', () => {
    const nh = Buffer.from('{"foo":"bar"}').toString('base64url');
    expect(values(d, `${nh}.${p}.sig eyJhbGc.x.y ${h}.${p} ${h}.${p}.s.t`)).toEqual([]);
  });
});

describe('API keys', () => {
  const d = apiKeyDetector();
  const gh = (prefix: string): string => {
    const body = 'a'.repeat(10) + 'B'.repeat(10) + '0123456789';
    return `${prefix}${body}${base62Checksum(body)}`;
  };
  it('finds provider keys', () => {
    const keys = [
      'AKIAIOSFODNN7EXAMPLE',
      'AIzaSyA-1234567890abcdefghijklmnopqrstu',
      gh('ghp_'),
      gh('npm_'),
      'github_pat_11ABCDEFG0123456789abc_' + 'x'.repeat(59),
      'glpat-abcdefghij0123456789',
      'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
      'rk_test_4eC39HqLyjWDarjtT1zdp7dc',
      'xoxb-123456789012-abcdefghij',
      'sk-proj-' + 'Ab1_'.repeat(12),
      'sk-ant-api03-' + 'x9-_'.repeat(23),
      'SK' + '0123456789abcdef'.repeat(2),
      'SG.' + 'a'.repeat(22) + '.' + 'b'.repeat(43),
      'hf_' + 'AbCd'.repeat(8) + 'Ef',
      'ya29.a0AfH6SMBx' + 'y'.repeat(20),
    ];
    expect(values(d, keys.join(' , '))).toEqual(keys);
  });
  it('checks GitHub/npm checksums and the AWS secret context', () => {
    const bad = gh('ghp_').slice(0, -1) + (gh('ghp_').endsWith('x') ? 'y' : 'x');
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(values(d, `${bad} ${secret}`)).toEqual([]);
    expect(values(d, `aws_secret_access_key = ${secret}`)).toEqual([secret]);
    expect(values(d, `secret: ${'a'.repeat(40)} ${'0123456789abcdef'.repeat(2)}abcdef01`)).toEqual(
      [],
    );
  });
});

describe('adversarial 1 MB inputs', () => {
  const inputs = adversarialInputs();
  // what each input legitimately contains (unterminated key headers; nothing else)
  const expected = new Map([['private-key', [64, 0, 0]]]);
  for (const d of builtinDetectors()) {
    it(`${d.name} scans every input to the end with the exact result`, () => {
      const got = (inputs.get(d.name) ?? []).map((s) => d.detect(s).length);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(expected.get(d.name) ?? got.map(() => 0));
    });
  }
});
