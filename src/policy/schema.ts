/**
 * @module policy/schema — the policy file's schema: roles → scopes, the resource patterns each
 * role may act on (`models` for `inference:invoke`, `datasets` for the dataset scopes), and the
 * per-role `limits` and `dataControls` sections that later issues fill. Every object is strict:
 * an unknown key anywhere is an error, so a typo never silently grants or drops a right.
 */
import { z } from 'zod';
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

const role = z.strictObject({
  /** Free text for people reading the file. */
  description: z.string().max(500).optional(),
  scopes: z.array(scope).max(64).refine(unique, 'scopes are listed twice'),
  /** Models (`model:<id>`) this role may use `inference:invoke` on. */
  models: z.array(pattern).max(256).default([]),
  /** Datasets (`dataset:<name>`) this role may use the dataset scopes on. */
  datasets: z.array(pattern).max(256).default([]),
  /** Per-role rate limits and quotas (filled by a later issue; empty for now). */
  limits: z.strictObject({}).default({}),
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
    })
    .prefault({}),
});

/** The whole file. */
export const policySchema = z.strictObject({
  version: z.literal(1).default(1),
  roles: z
    .record(
      z.string().regex(ROLE_NAME, 'role names are lower-case letters, digits, . _ - (max 64)'),
      role,
    )
    .refine((r) => Object.keys(r).length > 0, 'at least one role is required'),
});

/** A policy file as written. */
export type PolicyInput = z.input<typeof policySchema>;
/** A validated policy document (defaults filled in): what `GET /v1/policy` shows. */
export type PolicyDocument = z.output<typeof policySchema>;
/** One role of a document. */
export type RoleSpec = PolicyDocument['roles'][string];
/** The data controls of a role (or the merge over a token's roles). */
export type DataControls = RoleSpec['dataControls'];
