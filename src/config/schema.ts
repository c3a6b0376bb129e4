/**
 * @module config/schema — the one configuration schema. Every key has a default so the server
 * starts with no file at all; unknown keys are rejected so typos fail loudly at start-up.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** JWS algorithms the server can sign with; never symmetric ones. */
export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;
/** JWS algorithms accepted from external issuers (all asymmetric). */
export const VERIFY_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
] as const;

/**
 * The demo generation model shipped in the repository (`models/stories260K/`, MIT, see its
 * NOTICE.md): resolved from this file, so it is found from `src/` and `dist/` alike, whatever
 * the working directory.
 */
export const BUNDLED_GGUF = fileURLToPath(
  new URL('../../models/stories260K/stories260K.gguf', import.meta.url),
);

const seconds = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/ });

const trustedIssuer = z
  .strictObject({
    issuer: z.string().min(1),
    jwksUri: httpUrl.optional(),
    discovery: httpUrl.optional(),
    audience: z.string().min(1),
    algorithms: z.array(z.enum(VERIFY_ALGS)).min(1).default(['RS256', 'ES256']),
    rolesClaim: z.string().min(1).default('roles'),
    scopeClaim: z.string().min(1).default('scope'),
    maxTokenLifetime: seconds.optional(),
  })
  .refine((v) => (v.jwksUri === undefined) !== (v.discovery === undefined), {
    message: 'exactly one of jwksUri or discovery is required',
  });

/** Keys every model entry has: identity, artifact digest and the scheduler's bounds. */
const modelCommon = {
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'letters, digits, . _ : - (max 64)'),
  sha256: z
    .string()
    .regex(/^[a-fA-F0-9]{64}$/, '64 hex characters')
    .optional(),
  maxBatch: z.number().int().min(1).max(1024).default(32),
  batchWindowMs: z.number().min(0).max(100).default(2),
  maxQueue: z.number().int().min(1).max(100_000).default(256),
  timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Largest input accepted, in the model's tokens (embedding: per input; generation: prompt). */
  maxInputTokens: z.number().int().positive().optional(),
  /** `/readyz` answers 503 until every required model is loaded; false: best effort. */
  required: z.boolean().default(true),
};
const threads = z.number().int().min(1).max(64).default(1);
const artifactPath = z.string().min(1);
/** Generation slots (concurrent sequences) and the context window (0 = the model's own). */
const generation = {
  contextSize: z.number().int().min(0).max(131_072).default(0),
  slots: z.number().int().min(1).max(64).default(2),
  /**
   * The operator's system prompt, put first in every chat with this model; callers cannot
   * remove or override it (their own system messages, where the policy allows them, follow it).
   * A model with one takes no raw `/v1/completions` prompts, where it could not be enforced.
   */
  systemPrompt: z.string().min(1).max(32_768).optional(),
};

/** USE-lite on TensorFlow.js (bundled weights unless `path` names another copy). */
const tfjsModel = z.strictObject({
  ...modelCommon,
  backend: z.literal('tfjs'),
  path: artifactPath.optional(),
  /** Worker threads running the graph. */
  threads,
  /**
   * How much nicer (0–19, added to the process's niceness, capped at 19) the worker threads run
   * on Linux, so that request handling, auth and the token endpoint get a core as soon as they
   * need one while the model saturates the others. Default 10.
   */
  nice: z.number().int().min(0).max(19).default(10),
});

/** An ONNX encoder folder (feature extraction or text classification). */
const onnxModel = z.strictObject({
  ...modelCommon,
  backend: z.literal('onnx'),
  path: artifactPath,
  /** Which task the folder holds; default: read from its config. */
  task: z.enum(['embedding', 'classification']).optional(),
  threads,
});

/** A GGUF generation model through llama.cpp. */
const llamaCppModel = z.strictObject({
  ...modelCommon,
  backend: z.literal('llama-cpp'),
  path: artifactPath,
  threads,
  ...generation,
});

/** The deterministic test and benchmark model. */
const echoModel = z.strictObject({
  ...modelCommon,
  backend: z.literal('echo'),
  task: z.enum(['embedding', 'classification', 'generation']).default('generation'),
  ...generation,
  /** Delay per generated token, ms (gateway tests and benchmarks). */
  delayMs: z.number().int().min(0).max(10_000).default(0),
});

/**
 * One entry of `models:`, one shape per backend so that backend-only keys exist only where they
 * apply (exported for tests that build a spec with the real defaults).
 */
export const modelSpec = z.discriminatedUnion('backend', [
  tfjsModel,
  onnxModel,
  llamaCppModel,
  echoModel,
]);

/** One few-shot classifier over an embedding model (moderation, prompt-injection detection). */
const classifierSpec = z.strictObject({
  model: z.string().min(1).default('use-lite'),
  /** JSON or YAML file of `{label: [examples…]}`; default: the built-in set. */
  examples: z.string().min(1).optional(),
  threshold: z.number().min(0).max(1).default(0.5),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      bodyLimit: z.number().int().positive().default(1_048_576),
      trustProxy: z.boolean().default(false),
      /** A connection must deliver its request line and headers within this many ms (408). */
      headersTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
      /** …and the whole request, body included, within this many ms (408). */
      requestTimeoutMs: z.number().int().positive().max(3_600_000).default(30_000),
      /** An idle keep-alive connection is closed after this many ms without a new request. */
      keepAliveTimeoutMs: z.number().int().positive().max(600_000).default(5_000),
      /**
       * A connection with no traffic either way for this many ms is closed, even mid-request
       * (a client that stopped reading); 0: never. Keep it above the models' `timeoutMs`, since
       * a non-streamed answer sends nothing until it is done.
       */
      socketTimeoutMs: z.number().int().min(0).max(3_600_000).default(120_000),
      /** Open connections beyond this are closed on accept; keep it below `ulimit -n`. */
      maxConnections: z.number().int().positive().default(10_000),
      /** Requests served on one keep-alive connection before it is closed; 0: no limit. */
      maxRequestsPerSocket: z.number().int().min(0).default(0),
      /** Largest request line plus headers, bytes (431 beyond it). */
      maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
    })
    .refine((s) => s.headersTimeoutMs <= s.requestTimeoutMs, {
      message: 'headersTimeoutMs must not exceed requestTimeoutMs',
      path: ['headersTimeoutMs'],
    })
    .prefault({}),
  dataDir: z.string().min(1).default('./.gatehouse'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** One info line per request (method, path, status, ms, request id). */
      access: z.boolean().default(true),
      /**
       * Connections closed by the server's own limits (timeouts, 431, the connection cap) are
       * logged once, then summed up in one line per this many ms, so a flood cannot fill the log.
       */
      edgeSummaryMs: z.number().int().positive().max(3_600_000).default(10_000),
    })
    .prefault({}),
  /** Encrypts private signing keys at rest. Only ever read from GATEHOUSE_MASTER_KEY. */
  masterKey: z.string().min(16).optional(),
  store: z
    .strictObject({
      /** Empty: SQLite in the data dir. `postgres://…`: PostgreSQL. */
      url: z.string().optional(),
      /** PostgreSQL schema for the tables (lower-case identifier). */
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/)
        .optional(),
    })
    .prefault({}),
  /** The model registry and datasets (README "Registry"). */
  registry: z
    .strictObject({
      /**
       * Directories artifacts and dataset files may be registered from by path (hashed at
       * registration; symlinks out of them refused). Empty: only uploads.
       */
      allowedPaths: z.array(z.string().min(1)).max(64).default([]),
      /**
       * Serve only artifacts with a known digest: a config model without `sha256` (and not
       * bundled) is refused at start. False: served, with a start-up warning.
       */
      requireDigest: z.boolean().default(true),
      /** Largest blob one upload may store, bytes (413 beyond, nothing kept). */
      maxBlobBytes: z
        .number()
        .int()
        .positive()
        .default(16 * 1024 ** 3),
      /**
       * Free bytes an upload (model artifact or dataset file) must leave on the data dir's file
       * system: the database and the audit log need the room more (507 below it, nothing
       * kept). 0: no floor.
       */
      minFreeBytes: z
        .number()
        .int()
        .min(0)
        .default(256 * 1024 ** 2),
      /** Days a soft-deleted dataset's content is kept before the retention job purges it. */
      retentionDays: z.number().int().min(0).max(3650).default(30),
    })
    .prefault({}),
  models: z
    .array(modelSpec)
    .prefault([
      { id: 'use-lite', backend: 'tfjs', threads: Math.min(2, availableParallelism()) },
      // A 260K-parameter TinyStories demo so that chat works out of the box; one thread is
      // its fastest setting (DESIGN.md: explicit threads, CPU only, no mmap).
      {
        id: 'stories260K',
        backend: 'llama-cpp',
        path: BUNDLED_GGUF,
        sha256: '5a9d168bd9d9e29302e0d604e9a4c97184057ad87661cd7e7cc4318fdeba6d9c',
        threads: 1,
      },
    ])
    .refine((ms) => new Set(ms.map((m) => m.id)).size === ms.length, {
      message: 'model ids must be unique',
    }),
  inference: z
    .strictObject({
      moderation: classifierSpec.nullable().prefault({}),
      promptInjection: classifierSpec.nullable().prefault({}),
      /** max_tokens when a request names none. */
      defaultMaxTokens: z.number().int().positive().default(256),
    })
    .prefault({}),
  auth: z
    .strictObject({
      issuer: httpUrl.optional(),
      audience: z.string().min(1).optional(),
      signingAlg: z.enum(SIGNING_ALGS).default('ES256'),
      accessTokenTtl: seconds.default(600),
      /** Hard ceiling on any access token's lifetime (exp − iat), ours or an IdP's. */
      maxTokenLifetime: seconds.max(86_400).default(3600),
      refreshTokenTtl: seconds.default(86_400),
      /** Seconds a rotated-in key is published before it signs (`keys rotate`). */
      keyActivationDelay: z.number().int().min(0).max(86_400).default(120),
      clockSkew: z.number().int().min(0).max(60).default(60),
      maxTokenBytes: z.number().int().min(512).max(65_536).default(8192),
      verifyCacheSize: z.number().int().min(0).default(10_000),
      revocationSyncInterval: seconds.default(2),
      jwksCooldown: seconds.default(30),
      jwksTimeoutMs: z.number().int().positive().default(5000),
      jwksMaxAge: seconds.default(600),
      dpopProofMaxAge: seconds.max(300).default(60),
      /** Brute-force and flood protection of client authentication at the OAuth endpoints. */
      clientAuth: z
        .strictObject({
          /** Worker threads checking client secrets (scrypt), i.e. checks running at once. */
          hashThreads: z.number().int().min(1).max(16).default(1),
          /** Checks that may wait for a thread; beyond that, 503 + Retry-After. */
          hashQueue: z.number().int().min(0).max(10_000).default(32),
          /** Window (seconds) in which failures are counted; a block lasts until it ends. */
          failureWindow: seconds.max(86_400).default(60),
          /** Failures allowed per (client id, source address) in a window; then 429. */
          maxFailuresPerClientSource: z.number().int().positive().default(5),
          /** Failures allowed per source address (any client id), from unknown pairs. */
          maxFailuresPerSource: z.number().int().positive().default(20),
          /** Failures allowed per client id (any source); sources it used before are exempt. */
          maxFailuresPerClient: z.number().int().positive().default(100),
          /** Seconds a (client id, source) pair that authenticated stays exempt as above. */
          knownSourceTtl: seconds.default(7 * 86_400),
          /** Milliseconds a 429/503 refusal is held before it is sent (slows a closed-loop flood). */
          refusalDelayMs: z.number().int().min(0).max(10_000).default(500),
          /** Keys kept per throttle table (least recently touched dropped first). */
          maxTracked: z.number().int().min(100).max(10_000_000).default(50_000),
        })
        .prefault({}),
      trustedIssuers: z.array(trustedIssuer).default([]),
    })
    .refine((a) => a.accessTokenTtl <= a.maxTokenLifetime, {
      message: 'accessTokenTtl must not exceed maxTokenLifetime',
      path: ['accessTokenTtl'],
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** The policy file (YAML, see README "Policy"); absent: the built-in roles. */
      file: z.string().min(1).optional(),
    })
    .prefault({}),
  /** The tamper-evident audit log (README "Audit log"). */
  audit: z
    .strictObject({
      /** This process's hash chain id; replicas need distinct ones. Default: the host name. */
      replicaId: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, . _ : - (max 128)')
        .optional(),
      /** A signed checkpoint over the chain head after this many events… */
      checkpointEvery: z.number().int().min(1).max(1_000_000).default(1000),
      /** …or this many ms after new events, whichever comes first (and on shutdown). */
      checkpointIntervalMs: z.number().int().min(100).max(86_400_000).default(10_000),
      /** Days events are kept (then purged, leaving a signed purge record); absent: forever. */
      retentionDays: z.number().int().positive().max(36_500).optional(),
      /**
       * Record every protected request, token issue and denial (default). false turns the audit
       * log and receipts off — for benchmarks that measure what they cost, never in production.
       */
      enabled: z.boolean().default(true),
      /**
       * Receipts on inference responses: `batch` (one signature over a Merkle root per batch of
       * concurrent responses, each receipt carrying its inclusion proof), `single` (one JWS per
       * response), or `off`.
       */
      receipts: z.enum(['batch', 'single', 'off']).default('batch'),
      /** Refusals of unidentified callers are counted and written as one event per key per this many ms. */
      anonymousIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
      /** Distinct (action, reason, client, source) keys per interval before the rest are folded together. */
      anonymousMaxKeys: z.number().int().min(1).max(100_000).default(1000),
    })
    .prefault({}),
  /** Rate limits and token quotas (README "Limits"); the limits themselves are the policy's. */
  ratelimit: z
    .strictObject({
      /**
       * Empty: counters in this process's memory (one replica). `redis://…` / `rediss://…`: one
       * Redis shared by every replica, so N replicas enforce one limit, not N times it.
       */
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
        .optional(),
      /** Prefix of every Redis key (several deployments may share one Redis). */
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{0,64}$/)
        .default('gatehouse:rl:'),
      /**
       * When the limiter cannot answer (Redis down or slower than `timeoutMs`): false (default)
       * refuses limited requests with 503 (fail closed); true lets them through unlimited.
       */
      failOpen: z.boolean().default(false),
      /** A limit check that takes longer than this many ms counts as the limiter failing. */
      timeoutMs: z.number().int().min(1).max(10_000).default(250),
      /**
       * A concurrency lease whose request never released it (a replica that died mid-request)
       * expires after this many ms; keep it above the longest request.
       */
      leaseMs: z.number().int().min(1000).max(3_600_000).default(600_000),
    })
    .prefault({}),
  /** `GET /metrics` (README "Metrics"). */
  metrics: z
    .strictObject({
      /**
       * Also serve `/metrics` without a token on this port (bind it where only the scraper
       * reaches); absent: only on the main port, with a token holding `metrics:read`.
       */
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().min(1).default('127.0.0.1'),
    })
    .prefault({}),
  /** The data controls' content guards (README "Data controls"); what they do is the policy's. */
  guard: z
    .strictObject({
      /**
       * Run the content guards (PII and secret detectors, operator patterns, term lists,
       * prompt injection) on prompts and outputs (default). false turns them off — for
       * benchmarks that measure what they cost; system-message rules and limits still hold.
       */
      enabled: z.boolean().default(true),
      /**
       * A text whose guards run longer than this many ms is refused with 503 (fail closed); read
       * after each detector on texts of 256 characters or more.
       */
      budgetMs: z.number().positive().max(60_000).default(500),
    })
    .prefault({}),
});

/** Configuration as written (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** Parsed configuration with defaults applied (before derived values). */
export type ParsedConfig = z.output<typeof configSchema>;
/** One served model as configured. */
export type ModelConfig = ParsedConfig['models'][number];
/** Backend names as written in config. */
export type BackendName = ModelConfig['backend'];
/** The configuration of a model served by `backend`. */
type ModelConfigByBackend = { [S in ModelConfig as S['backend']]: S };
export type ModelConfigOf<B extends BackendName> = ModelConfigByBackend[B];
/** One external identity provider. */
export type TrustedIssuerConfig = ParsedConfig['auth']['trustedIssuers'][number];
