import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { envToTree, loadConfig } from './load.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-config-')), 'gatehouse.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('starts from embedded defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 1_048_576,
      trustProxy: false,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      socketTimeoutMs: 120_000,
      maxConnections: 10_000,
      maxRequestsPerSocket: 0,
      maxHeaderBytes: 16_384,
    });
    expect(c.auth.issuer).toBe('http://127.0.0.1:8080');
    expect(c.auth.audience).toBe('http://127.0.0.1:8080');
    expect(c.auth.signingAlg).toBe('ES256');
    expect(c.auth.accessTokenTtl).toBe(600);
    expect(c.dataDir.endsWith('.gatehouse')).toBe(true);
  });

  it('layers defaults < file < env < overrides', () => {
    const file = yamlFile('server:\n  port: 9000\n  host: 0.0.0.0\nauth:\n  accessTokenTtl: 120\n');
    const c = loadConfig({
      file,
      env: { GATEHOUSE_SERVER__PORT: '9100', GATEHOUSE_AUTH__ISSUER: 'https://ai.example.com/' },
      overrides: { server: { port: 9200 } },
    });
    expect(c.server.port).toBe(9200);
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.auth.accessTokenTtl).toBe(120);
    expect(c.auth.issuer).toBe('https://ai.example.com');
  });

  it('defaults the audit block: on, batched receipts, checkpoints every 1,000 events or 10 s, kept forever', () => {
    expect(loadConfig({ env: {} }).audit).toEqual({
      enabled: true,
      receipts: 'batch',
      checkpointEvery: 1000,
      checkpointIntervalMs: 10_000,
      anonymousIntervalMs: 10_000,
      anonymousMaxKeys: 1000,
    });
  });

  it('is frozen', () => {
    const c = loadConfig({ env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.auth)).toBe(true);
  });

  it.each([
    ['an unknown top-level key', 'serverr:\n  port: 1\n', 'serverr'],
    ['an unknown nested key', 'auth:\n  issuerr: x\n', 'auth.issuerr'],
    ['a bad value', 'server:\n  port: 70000\n', 'server.port'],
    ['a wrong type', 'auth:\n  accessTokenTtl: ten\n', 'auth.accessTokenTtl'],
    ['a symmetric signing algorithm', 'auth:\n  signingAlg: HS256\n', 'auth.signingAlg'],
    ['a ttl above the hard maximum', 'auth:\n  accessTokenTtl: 7200\n', 'auth.accessTokenTtl'],
    ['clock skew above 60 s', 'auth:\n  clockSkew: 300\n', 'auth.clockSkew'],
    ['an unknown audit key', 'audit:\n  checkpointEvry: 5\n', 'audit.checkpointEvry'],
    ['a replica id with a space', 'audit:\n  replicaId: a b\n', 'audit.replicaId'],
    ['a zero checkpoint interval', 'audit:\n  checkpointEvery: 0\n', 'audit.checkpointEvery'],
    [
      'a trusted issuer with neither jwksUri nor discovery',
      'auth:\n  trustedIssuers:\n    - issuer: https://idp\n      audience: x\n',
      'auth.trustedIssuers.0',
    ],
    ['a master key in the file', 'masterKey: abcdefghijklmnopqrstu\n', 'masterKey'],
    [
      'worker niceness on a backend without workers',
      'models:\n  - id: m\n    backend: echo\n    nice: 5\n',
      'models.0.nice',
    ],
    [
      'the generation task on an onnx model',
      'models:\n  - id: m\n    backend: onnx\n    path: /m\n    task: generation\n',
      'models.0.task',
    ],
    ['an onnx model without a path', 'models:\n  - id: m\n    backend: onnx\n', 'models.0.path'],
    [
      'a llama-cpp model without a path',
      'models:\n  - id: m\n    backend: llama-cpp\n',
      'models.0.path',
    ],
    [
      'generation slots on an embedding backend',
      'models:\n  - id: m\n    backend: tfjs\n    slots: 4\n',
      'models.0.slots',
    ],
    ['an unknown backend', 'models:\n  - id: m\n    backend: gpu\n', 'models.0.backend'],
    [
      'worker niceness above 19',
      'models:\n  - id: m\n    backend: tfjs\n    nice: 20\n',
      'models.0.nice',
    ],
    [
      'negative worker niceness',
      'models:\n  - id: m\n    backend: tfjs\n    nice: -5\n',
      'models.0.nice',
    ],
  ])('fails at start-up on %s, naming the key', (_what, text, key) => {
    const file = yamlFile(text);
    let error: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(key);
  });

  it('names an unknown GATEHOUSE_ variable', () => {
    expect(() => loadConfig({ env: { GATEHOUSE_PORTT: '1' } })).toThrow(/portt/);
  });

  it('rejects a non-mapping file', () => {
    expect(() => loadConfig({ file: yamlFile('- a\n- b\n'), env: {} })).toThrow(ConfigError);
  });

  it('keeps the master key a string and only takes it from the environment', () => {
    const c = loadConfig({ env: { GATEHOUSE_MASTER_KEY: '12345678901234567890' } });
    expect(c.masterKey).toBe('12345678901234567890');
  });
});

describe('envToTree', () => {
  it('maps double underscores to nesting and parses JSON values', () => {
    expect(
      envToTree({
        GATEHOUSE_AUTH__ACCESS_TOKEN_TTL: '300',
        GATEHOUSE_SERVER__TRUST_PROXY: 'true',
        GATEHOUSE_DATA_DIR: '/var/lib/gatehouse',
        HOME: '/root',
      }),
    ).toEqual({
      auth: { accessTokenTtl: 300 },
      server: { trustProxy: true },
      dataDir: '/var/lib/gatehouse',
    });
  });

  it('rejects variables with empty path segments instead of guessing', () => {
    expect(() => loadConfig({ env: { GATEHOUSE___PROTO____POLLUTED: '1' } })).toThrow(ConfigError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
