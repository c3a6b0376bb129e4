/**
 * @module policy/schema — the policy file's schema: roles → scopes, the resource patterns each
 * role may act on (`models` for `inference:invoke`, `datasets` for the dataset scopes), and the
 * per-role `limits` and `dataControls` sections that later issues fill. Every object is strict:
 * an unknown key anywhere is an error, so a typo never silently grants or drops a right.
 */
import { z } from 'zod';
import { compileCustomPatterns } from '../guard/detectors/custom.js';
import { isBuiltinFindingType } from '../guard/types.js';
import { patternProblem } from './pattern.js';
import { SCOPES } from './roles.js';

const KNOWN_SCOPES: ReadonlySet<string> = new Set(SCOPES);

/** A role name: lower-case letters, digits, `.`, `_`, `-`; starts with a letter; ≤ 64. */
export const ROLE_NAME = /^[a-z][a-z0-9._-]{0,63}$/;

const scope = z.string().check((ctx) => {
  if (!KNOWN_SCOPES.has(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `unknown scope ${JSON.stringify(ctx.value)} (known: ${SCOPES.join(' ')})`,
    });
  }
});

const pattern = z.string().check((ctx) => {
  const problem = patternProblem(ctx.value);
  if (problem !== undefined)
    ctx.issues.push({ code: 'custom', input: ctx.value, message: problem });
});

const unique = (list: readonly string[]): boolean => new Set(list).size === list.length;

/** What the data controls do with a finding (README "Data controls"). */
const guardAction = z.enum(['allow', 'redact', 'block']);

/** A finding type as a policy names it: a built-in type, an operator pattern or DENIED_TERM. */
const TYPE_NAME = /^[A-Z][A-Z0-9_]{0,47}$/;

/**
 * Action per finding type in one phase: `default` for every type not named. Type names are
 * checked against the built-in types and the file's own patterns once the whole file is read.
 */
const actionMap = z
  .record(
    z
      .string()
      .regex(
        /^(?:default|[A-Z][A-Z0-9_]{0,47})$/,
        'finding types are upper-case letters, digits and _ (or default)',
      ),
    guardAction,
  )
  .default({});

/** A term list: bounded, since each compiles into an automaton held in memory. */
const termList = z
  .array(z.string().min(1).max(256))
  .max(1000)
  .refine(
    (l) => l.reduce((n, t) => n + t.length, 0) <= 50_000,
    'a term list may hold at most 50,000 characters in all',
  )
  .default([]);

/** The guards a role may run in dry-run (verdicts recorded, not applied). */
export const GUARD_NAMES = ['pii', 'injection', 'terms'] as const;

/** One set of budgets; an absent one is unlimited. */
const limitSet = z.strictObject({
  /** Requests per minute. */
  requestsPerMinute: z.number().int().min(1).max(10_000_000).optional(),
  /** Prompt + completion tokens per minute (reserved before the model runs, refunded after). */
  tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Prompt + completion tokens per day (a rolling 24 hours). */
  tokensPerDay: z.number().int().min(1).max(100_000_000_000).optional(),
  /** Requests running at once. */
  concurrentRequests: z.number().int().min(1).max(100_000).optional(),
});

/** A role's budgets: for all models together, plus per model (`models: {"<pattern>": …}`). */
export const limitsSpec = limitSet.extend({
  models: z.record(pattern, limitSet).default({}),
});

/** One set of budgets (requests/min, tokens/min, tokens/day, concurrent requests). */
export type LimitSet = z.output<typeof limitSet>;
/** A role's or a client's limits. */
export type LimitsSpec = z.output<typeof limitsSpec>;

const role = z.strictObject({
  /** Free text for people reading the file. */
  description: z.string().max(500).optional(),
  scopes: z.array(scope).max(64).refine(unique, 'scopes are listed twice'),
  /** Models (`model:<id>`) this role may use `inference:invoke` on. */
  models: z.array(pattern).max(256).default([]),
  /** Datasets (`dataset:<name>`) this role may use the dataset scopes on. */
  datasets: z.array(pattern).max(256).default([]),
  /**
   * Per-role rate limits and quotas (README "Limits"), each held separately for the token's
   * subject and for its client. The top-level budgets count every model together; `models`
   * adds budgets per model: each model a pattern matches is counted on its own.
   */
  limits: limitsSpec.prefault({}),
  /** Per-role data controls on prompts and outputs (README "Data controls"). */
  dataControls: z
    .strictObject({
      /**
       * System and developer messages from callers of this role: `allow`, `strip` (removed before
       * the model sees them) or `refuse` (403). Default `refuse`: only roles the policy allows may
       * instruct a model as its operator.
       */
      systemMessages: z.enum(['allow', 'strip', 'refuse']).default('refuse'),
      /** Most messages in one chat request (400 beyond); absent: no limit. */
      maxMessages: z.number().int().min(1).max(100_000).optional(),
      /** Most prompt tokens, counted with the model's own tokenizer (413 beyond). */
      maxPromptTokens: z.number().int().min(1).max(10_000_000).optional(),
      /** `max_tokens` is capped at this (a larger one is lowered, not refused). */
      maxTokens: z.number().int().min(1).max(1_000_000).optional(),
      /** Most inputs in one embeddings or moderations request (400 beyond). */
      maxInputs: z.number().int().min(1).max(100_000).optional(),
      /** Most characters (UTF-16 code units) of all inputs of one such request (413 beyond). */
      maxInputChars: z.number().int().min(1).max(100_000_000).optional(),
      /**
       * What happens to PII, secrets, operator patterns and denied terms found in prompts:
       * `{ default: redact, EMAIL: allow, API_KEY: block }`. Unnamed types take `default`
       * (itself `redact` when absent).
       */
      prompts: actionMap,
      /** The same for generated text (also while streaming). */
      outputs: actionMap,
      /** Prompt injection: the combined score's threshold and what reaching it does. */
      injection: z
        .strictObject({
          action: z.enum(['block', 'flag', 'allow']).default('block'),
          threshold: z.number().min(0).max(1).default(0.5),
          /** When the `prompt-injection` classifier is consulted (if it is configured). */
          classifier: z.enum(['always', 'uncertain', 'never']).default('uncertain'),
        })
        .prefault({}),
      /** Terms this role may not send or receive (`deny`) and values never treated as sensitive. */
      terms: z.strictObject({ deny: termList, allow: termList }).prefault({}),
      /** Guards whose verdicts are recorded but not applied (rolling out new rules). */
      dryRun: z.array(z.enum(GUARD_NAMES)).max(3).default([]),
    })
    .prefault({}),
});

/** An operator-defined detector: a named, backtracking-safe regular expression. */
const customPattern = z.strictObject({
  name: z.string().regex(TYPE_NAME, 'pattern names are upper-case letters, digits and _'),
  pattern: z.string().min(1).max(4096),
  flags: z.string().max(4).optional(),
  maxSpan: z.number().int().min(1).max(65_536).optional(),
});

/** Data-control settings that are not per role: operator patterns, term lists per model. */
const guardSection = z
  .strictObject({
    patterns: z.array(customPattern).max(256).default([]),
    /** Term lists per model id (`*`: every model), added to the caller's own. */
    models: z
      .record(
        z.string().min(1).max(128),
        z.strictObject({ deny: termList, allow: termList }).prefault({}),
      )
      .default({}),
  })
  .prefault({});

/** A dataset classification label (`pii`, `confidential`, `public`, …). */
export const LABEL_NAME = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * Which models may be trained on datasets carrying a label: `labels: {pii: [support-*]}`. A label
 * not listed restricts nothing, except `pii`, which no model may use unless listed here.
 */
const trainingSection = z
  .strictObject({
    labels: z
      .record(
        z.string().regex(LABEL_NAME, 'labels are lower-case letters, digits, . _ - (max 64)'),
        z.array(pattern).max(256),
      )
      .default({}),
  })
  .prefault({});

/** The whole file. */
export const policySchema = z
  .strictObject({
    version: z.literal(1).default(1),
    guard: guardSection,
    training: trainingSection,
    roles: z
      .record(
        z.string().regex(ROLE_NAME, 'role names are lower-case letters, digits, . _ - (max 64)'),
        role,
      )
      .refine((r) => Object.keys(r).length > 0, 'at least one role is required'),
  })
  .check((ctx) => {
    const { guard, roles } = ctx.value;
    guard.patterns.forEach((p, i) => {
      try {
        compileCustomPatterns([p]);
      } catch (err) {
        ctx.issues.push({
          code: 'custom',
          input: p,
          path: ['guard', 'patterns', i, 'pattern'],
          message: err instanceof Error ? err.message : String(err),
        });
      }
    });
    const names = new Set(guard.patterns.map((p) => p.name));
    if (names.size !== guard.patterns.length) {
      ctx.issues.push({
        code: 'custom',
        input: guard.patterns,
        path: ['guard', 'patterns'],
        message: 'a pattern name is defined twice',
      });
    }
    for (const [name, spec] of Object.entries(roles)) {
      for (const phase of ['prompts', 'outputs'] as const) {
        for (const type of Object.keys(spec.dataControls[phase])) {
          if (type === 'default' || type === 'DENIED_TERM' || isBuiltinFindingType(type)) continue;
          if (type === 'PROMPT_INJECTION' || names.has(type)) continue;
          ctx.issues.push({
            code: 'custom',
            input: type,
            path: ['roles', name, 'dataControls', phase, type],
            message: `unknown finding type ${type} (built-in types, DENIED_TERM, or a name from guard.patterns)`,
          });
        }
      }
    }
  });

/** A policy file as written. */
export type PolicyInput = z.input<typeof policySchema>;
/** A validated policy document (defaults filled in): what `GET /v1/policy` shows. */
export type PolicyDocument = z.output<typeof policySchema>;
/** One role of a document. */
export type RoleSpec = PolicyDocument['roles'][string];
/** The data controls of a role as written (defaults filled in). */
export type RoleDataControls = RoleSpec['dataControls'];
/** The file's `guard` section. */
export type GuardSection = PolicyDocument['guard'];
