/**
 * `gatehouse receipt verify`, run in-process: valid receipts of both formats against the data
 * dir's keys, a JWKS file and a JWKS URL; the prompt and output checked from the request and
 * response bodies; and each failure a one-line reason with exit 1 (2 for usage errors).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingsOutputSha256, promptSha256, textOutputSha256 } from '../src/audit/digests.js';
import { createReceiptSigner } from '../src/audit/receipts-signer.js';
import type { ReceiptSubject } from '../src/audit/receipts.js';
import { openKeyRing, type KeyRing } from '../src/auth/index.js';
import { runCli } from '../src/cli/run.js';
import { loadConfig } from '../src/config/index.js';
import { openStore } from '../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-receipt-'));
const data = join(dir, 'data');
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const body = { model: 'echo', messages: [{ role: 'user', content: 'Hi there' }], stream: false };
const text = 'Hi there, from echo';
let ring: KeyRing;
let single: string;
let batched: string;
let embedded: string;
let server: Server;
let url: string;

const subject = (over: Partial<ReceiptSubject> = {}): ReceiptSubject => ({
  sub: 'client:alice',
  client_id: 'alice',
  request_id: 'req-42',
  model: 'echo',
  model_sha256: null,
  prompt_sha256: promptSha256(body.messages),
  output_sha256: textOutputSha256(text),
  chain: 'replica-a',
  seq: 42,
  ...over,
});

async function gatehouse(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

beforeAll(async () => {
  const config = loadConfig({ env: {}, overrides: { dataDir: data } });
  const store = await openStore({ dataDir: data });
  try {
    ring = await openKeyRing(config, store, Date.now);
  } finally {
    await store.close();
  }
  const common = { keys: ring, issuer: 'http://127.0.0.1:8080', clock: Date.now };
  const one = createReceiptSigner({ ...common, mode: 'single' });
  const many = createReceiptSigner(common);
  single = await one.sign(subject());
  const vectors = [[0.5, -0.25]];
  [batched, embedded] = await Promise.all([
    many.sign(subject()),
    many.sign(subject({ output_sha256: embeddingsOutputSha256(vectors), seq: 43 })),
  ]);
  await Promise.all([one.close(), many.close()]);
  server = createServer((req, res) => {
    if (req.url === '/jwks') res.end(JSON.stringify(ring.jwks()));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse receipt verify', () => {
  it('accepts both formats against the data dir keys, a JWKS file and a JWKS URL', async () => {
    const jwksFile = file('jwks.json', JSON.stringify(ring.jwks()));
    for (const r of [single, batched]) {
      for (const keys of [
        ['--data-dir', data],
        ['--jwks', jwksFile],
        ['--jwks', `${url}/jwks`],
      ]) {
        const res = await gatehouse('receipt', 'verify', r, ...keys);
        expect(res, keys.join(' ')).toMatchObject({ code: 0, stderr: '' });
        expect(res.stdout).toMatch(
          /^valid receipt: request req-42, model echo, audit replica-a#42, subject client:alice, signed \S+ by key \S+$/,
        );
      }
    }
  });

  it('checks the request body and the output text or response body', async () => {
    const prompt = file('request.json', JSON.stringify(body));
    const output = file('output.txt', text);
    const res = await gatehouse(
      'receipt',
      'verify',
      batched,
      '--data-dir',
      data,
      '--prompt-file',
      prompt,
      '--output-file',
      output,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/; prompt and output match$/);
    const chat = file('chat.json', JSON.stringify({ choices: [{ message: { content: text } }] }));
    expect(
      (await gatehouse('receipt', 'verify', single, '--data-dir', data, '--output-json', chat))
        .code,
    ).toBe(0);
    const b64 = Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString('base64');
    const emb = file('emb.json', JSON.stringify({ data: [{ embedding: b64 }] }));
    expect(
      (await gatehouse('receipt', 'verify', embedded, '--data-dir', data, '--output-json', emb))
        .code,
    ).toBe(0);
  });

  it('prints JSON with --json, valid or not', async () => {
    const ok = await gatehouse('receipt', 'verify', single, '--data-dir', data, '--json');
    expect(JSON.parse(ok.stdout)).toMatchObject({
      valid: true,
      alg: 'ES256',
      checked: { prompt: false, output: false },
      claims: { request_id: 'req-42', seq: 42 },
    });
    const bad = await gatehouse('receipt', 'verify', `${single}x`, '--data-dir', data, '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, reason: 'bad_signature' });
  });

  it('refuses with exit 1 and one line: tampering, other texts, unknown keys', async () => {
    const [jws, leaf = '', proof] = batched.split('~');
    const other = Buffer.from(Buffer.from(leaf, 'base64url').toString().replace('42', '43'));
    const cases: [string[], string][] = [
      [
        [`${jws}~${other.toString('base64url')}~${proof}`, '--data-dir', data],
        'bad_proof: leaf is not in the signed batch',
      ],
      [
        [single, '--data-dir', data, '--output-file', file('nl.txt', `${text}\n`)],
        'output_mismatch: the output does not match output_sha256',
      ],
      [
        [
          single,
          '--data-dir',
          data,
          '--prompt-file',
          file('p.json', JSON.stringify({ ...body, messages: [] })),
        ],
        'prompt_mismatch: the prompt does not match prompt_sha256',
      ],
      [
        [single, '--jwks', file('empty.json', '{"keys":[]}')],
        'unknown_key: kid not in the key set',
      ],
      [
        [single, '--data-dir', data, '--issuer', 'https://other.test'],
        'wrong_issuer: iss is http://127.0.0.1:8080, expected https://other.test',
      ],
    ];
    for (const [args, reason] of cases) {
      const res = await gatehouse('receipt', 'verify', ...args);
      expect(res, reason).toEqual({
        code: 1,
        stdout: '',
        stderr: `gatehouse: invalid receipt: ${reason}`,
      });
    }
    const gone = await gatehouse('receipt', 'verify', single, '--jwks', `${url}/missing`);
    expect(gone).toMatchObject({
      code: 1,
      stderr: `gatehouse: --jwks: ${url}/missing answered 404`,
    });
  });

  it('names usage errors with exit 2', async () => {
    const empty = join(dir, 'empty-data');
    expect(await gatehouse('receipt', 'verify', single, '--data-dir', empty)).toMatchObject({
      code: 2,
      stderr: `gatehouse: no signing keys in ${empty}; pass --jwks FILE|URL`,
    });
    const both = file('both.json', JSON.stringify({ prompt: 'a', input: 'b' }));
    expect(
      (await gatehouse('receipt', 'verify', single, '--data-dir', data, '--prompt-file', both))
        .stderr,
    ).toBe(
      'gatehouse: --prompt-file: the request body must have exactly one of messages, prompt, input',
    );
    expect((await gatehouse('receipt', 'verify', '--data-dir', data)).code).toBe(2);
    const help = await gatehouse('receipt', 'verify', '--help');
    for (const opt of ['--jwks', '--prompt-file', '--output-file', '--output-json', '--json']) {
      expect(help.stdout).toContain(opt);
    }
  });
});
