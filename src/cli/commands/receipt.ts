/**
 * @module cli/commands/receipt — `gatehouse receipt verify <receipt>`: checks a receipt offline
 * against public keys only (the store's, a JWKS file or a JWKS URL) and, given the request
 * body and the output, that they match its digests. Exit 0 when valid; 1 with one line saying
 * why when not.
 */
import { readFileSync } from 'node:fs';
import { decodeProtectedHeader } from 'jose';
import type { Canonical } from '../../audit/canonical.js';
import { outputSha256, sha256Hex } from '../../audit/digests.js';
import { ReceiptError, verifyReceipt, type ReceiptJwks } from '../../audit/receipts-verify.js';
import { hasSigningKeys, jwksFileKeys, openKeyRing, type KeyRing } from '../../auth/index.js';
import { systemClock } from '../../lib/clock.js';
import { leaf, UsageError, type Group, type Io } from '../command.js';
import { CONFIG_OPTIONS, configFrom, HELP_OPTION, JSON_OPTION, withStore } from '../context.js';

/**
 * Which keys of the store's ring verify receipts: every public key the ring ever had (the archive
 * served at `/v1/audit/keys`), so a receipt stays verifiable after its key retires.
 */
export type RingKeys = (ring: KeyRing) => ReceiptJwks;
export const publishedKeys: RingKeys = (ring) => ring.auditJwks();

const PROMPT_MEMBERS = ['messages', 'prompt', 'input'] as const;

function readJson(file: string, option: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${option}: cannot read ${file}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${option}: ${file} is not JSON`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The prompt value of a request body: its `messages` (chat), `prompt` (completions) or `input`
 * (embeddings, moderations) — exactly one must be present. A JSON value that is not an object is
 * taken as that value itself.
 */
export function promptFromBody(body: unknown): Canonical {
  if (!isObject(body)) return body as Canonical;
  const present = PROMPT_MEMBERS.filter((m) => body[m] !== undefined);
  if (present.length !== 1) {
    throw new UsageError(
      `--prompt-file: the request body must have exactly one of ${PROMPT_MEMBERS.join(', ')}`,
    );
  }
  return body[present[0] ?? 'input'] as Canonical;
}

/**
 * The output of a response body: the text of a chat or completions response (one choice), the
 * vectors of an embeddings response (float arrays, or base64 float32 as `encoding_format:
 * base64` sends them), the `results` of a moderations response; an array is taken as it is.
 */
export function outputFromBody(body: unknown): string | Canonical {
  if (Array.isArray(body)) return body as Canonical;
  if (isObject(body) && Array.isArray(body.results)) return body.results as Canonical;
  if (isObject(body) && Array.isArray(body.choices) && body.choices.length === 1) {
    const choice = body.choices[0] as { message?: { content?: unknown }; text?: unknown };
    const text = choice.message?.content ?? choice.text;
    if (typeof text === 'string') return text;
  }
  if (isObject(body) && Array.isArray(body.data)) {
    return (body.data as { embedding?: unknown }[]).map(({ embedding: e }) => {
      if (Array.isArray(e)) return e as number[];
      if (typeof e !== 'string') throw new UsageError('--output-json: an embedding is missing');
      const bytes = Buffer.from(e, 'base64');
      return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2));
    });
  }
  throw new UsageError(
    '--output-json: expected a chat, completions, embeddings or moderations response body',
  );
}

async function jwksFrom(source: string): Promise<ReceiptJwks> {
  let content: unknown;
  if (/^https?:\/\//i.test(source)) {
    let res: Response;
    try {
      res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    } catch {
      throw new Error(`--jwks: cannot fetch ${source}`);
    }
    if (!res.ok) throw new Error(`--jwks: ${source} answered ${String(res.status)}`);
    try {
      content = await res.json();
    } catch {
      throw new Error(`--jwks: ${source} did not answer JSON`);
    }
  } else {
    content = readJson(source, '--jwks');
  }
  const keys = jwksFileKeys(content);
  if ('error' in keys) throw new UsageError(`--jwks: ${keys.error}`);
  return keys;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/** The `receipt` command group, verifying against `ringKeys` of the store's ring by default. */
export function receiptCommand(ringKeys: RingKeys = publishedKeys): Group {
  const verify = leaf({
    name: 'gatehouse receipt verify',
    summary: 'verify a signed receipt offline, and the prompt and output it covers',
    synopsis: '<receipt|-> [--jwks FILE|URL] [--prompt-file F] [--output-file F] [--json]',
    description:
      "Public keys only: the store's signing keys (default), a JWKS file, or a JWKS URL such as\n" +
      '<issuer>/.well-known/jwks.json. --prompt-file takes the JSON request body that was sent\n' +
      '(its messages, prompt or input is checked against prompt_sha256); --output-file the\n' +
      'generated text, byte for byte (no added newline); --output-json a response body\n' +
      '(chat, completions, embeddings or moderations). "-" reads the receipt from stdin.\n' +
      'Exit 0 if valid, 1 with the reason if not.',
    positionals: { name: 'RECEIPT', min: 1, max: 1 },
    options: {
      jwks: { type: 'string', value: 'FILE|URL', help: 'public keys (default: the store)' },
      'prompt-file': { type: 'string', value: 'F', help: 'the request body JSON that was sent' },
      'output-file': { type: 'string', value: 'F', help: 'the output text, exactly' },
      'output-json': { type: 'string', value: 'F', help: 'the response body JSON' },
      issuer: { type: 'string', value: 'URL', help: 'require this iss' },
      ...JSON_OPTION,
      ...CONFIG_OPTIONS,
      ...HELP_OPTION,
    },
    async run({ values, positionals }, io: Io) {
      const arg = positionals[0] ?? '';
      const receipt = (arg === '-' ? readFileSync(0, 'utf8') : arg).trim();
      if (values['output-file'] !== undefined && values['output-json'] !== undefined) {
        throw new UsageError('give --output-file or --output-json, not both');
      }
      const prompt =
        values['prompt-file'] === undefined
          ? undefined
          : promptFromBody(readJson(values['prompt-file'], '--prompt-file'));
      let outputDigest: string | undefined;
      if (values['output-file'] !== undefined) {
        try {
          outputDigest = sha256Hex(readFileSync(values['output-file']));
        } catch {
          throw new UsageError(`--output-file: cannot read ${values['output-file']}`);
        }
      } else if (values['output-json'] !== undefined) {
        outputDigest = outputSha256(
          outputFromBody(readJson(values['output-json'], '--output-json')),
        );
      }
      let jwks: ReceiptJwks;
      if (values.jwks !== undefined) {
        jwks = await jwksFrom(values.jwks);
      } else {
        const config = configFrom(values);
        jwks = await withStore(config, async (store) => {
          if (!(await hasSigningKeys(config, store))) {
            const where = (config.store.url ?? '') === '' ? config.dataDir : 'the store';
            throw new UsageError(`no signing keys in ${where}; pass --jwks FILE|URL`);
          }
          return ringKeys(await openKeyRing(config, store, systemClock));
        });
      }
      try {
        const claims = await verifyReceipt(receipt, jwks, {
          ...(prompt === undefined ? {} : { prompt }),
          ...(values.issuer === undefined ? {} : { issuer: values.issuer }),
        });
        if (outputDigest !== undefined && outputDigest !== claims.output_sha256) {
          throw new ReceiptError('output_mismatch', 'the output does not match output_sha256');
        }
        const { kid, alg } = decodeProtectedHeader(receipt.split('~')[0] ?? '');
        const checked = { prompt: prompt !== undefined, output: outputDigest !== undefined };
        if (values.json) {
          io.out(JSON.stringify({ valid: true, kid, alg, checked, claims }));
          return;
        }
        const also = [checked.prompt ? 'prompt' : '', checked.output ? 'output' : ''].filter(
          Boolean,
        );
        io.out(
          `valid receipt: request ${claims.request_id}, model ${claims.model}, ` +
            `audit ${claims.chain}#${String(claims.seq)}, subject ${claims.sub}, ` +
            `signed ${iso(claims.iat)} by key ${String(kid)}` +
            (also.length > 0 ? `; ${also.join(' and ')} match` : ''),
        );
      } catch (err) {
        if (!(err instanceof ReceiptError)) throw err;
        if (values.json) {
          io.out(JSON.stringify({ valid: false, reason: err.reason, message: err.message }));
        }
        throw new Error(`invalid receipt: ${err.message}`, { cause: err });
      }
    },
  });
  return {
    kind: 'group',
    name: 'gatehouse receipt',
    summary: 'verify signed receipts offline',
    commands: [verify],
  };
}

export const command: Group = receiptCommand();
