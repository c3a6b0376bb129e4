/**
 * @module inference/classifier-examples — labelled example sets for few-shot classifiers: the
 * built-in ones (moderation, prompt injection) and operator files in JSON or YAML, all of the
 * shape `{ label: [example, …] }`, validated the same way.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
// JSON imports (not fs reads) so that tsc emits the files next to the compiled code in dist/.
import moderation from './examples/moderation.json' with { type: 'json' };
import promptInjection from './examples/prompt-injection.json' with { type: 'json' };

/** Label → example texts, in a stable label order. */
export type ExampleSets = Readonly<Record<string, readonly string[]>>;

/** A shipped example set and the label that means "nothing to report". */
export interface BuiltinExampleSet {
  readonly examples: ExampleSets;
  readonly fallbackLabel: string;
}

/** Names of the shipped example sets. */
export type BuiltinExampleSetName = 'moderation' | 'prompt-injection';

/** Labels: letters, digits, `_ - . /` (OpenAI's `self-harm`, `harassment/threatening`). */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$/;
const MAX_LABELS = 64;
const MAX_EXAMPLES_PER_LABEL = 1000;
const MAX_EXAMPLE_CHARS = 2000;

const exampleText = z
  .string({ error: 'must be a string' })
  .max(MAX_EXAMPLE_CHARS, { error: `must be at most ${MAX_EXAMPLE_CHARS} characters` })
  .refine((t) => t.trim() !== '', { error: 'must not be blank' });

/** The labels, checked on the raw object (before a record could drop a `__proto__` key). */
const labelsSchema = z
  .custom<Record<string, unknown>>(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    { error: 'expected a mapping of label to a list of examples' },
  )
  .check((ctx) => {
    const labels = Object.keys(ctx.value);
    for (const label of labels) {
      if (!LABEL.test(label)) {
        ctx.issues.push({
          code: 'custom',
          input: label,
          path: [label],
          message: 'is not a label (letters, digits, _ . / -; at most 64 characters)',
        });
      }
    }
    if (labels.length < 2 || labels.length > MAX_LABELS) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected 2 to ${MAX_LABELS} labels, got ${labels.length}`,
      });
    }
  });

/** `{ label: [example, …] }`. */
const exampleSetsSchema = labelsSchema.pipe(
  z.record(
    z.string(),
    z
      .array(exampleText, { error: 'must be a list of examples' })
      .min(1, { error: 'needs at least 1 example' })
      .max(MAX_EXAMPLES_PER_LABEL, { error: `allows at most ${MAX_EXAMPLES_PER_LABEL} examples` }),
  ),
);

/** `hate[3]`, `"bad label"`: where in the file an issue is. */
function where(path: readonly PropertyKey[]): string {
  return path
    .map((p) =>
      typeof p === 'number'
        ? `[${p}]`
        : LABEL.test(String(p))
          ? String(p)
          : JSON.stringify(String(p)),
    )
    .join('');
}

/**
 * Checks that `value` is `{ label: string[] }` with 2–64 labels, 1–1000 non-blank examples of
 * at most 2000 characters each; returns a frozen null-prototype copy. Throws ConfigError naming
 * `source` (the file) and the offending key, e.g. `ex.yaml: hate[3] must not be blank`.
 */
export function validateExampleSets(value: unknown, source: string): ExampleSets {
  const parsed = exampleSetsSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 3)
      .map((i) => (i.path.length === 0 ? i.message : `${where(i.path)} ${i.message}`));
    throw new ConfigError(`${source}: ${problems.join('; ')}`);
  }
  // Copied key by key into a null-prototype object: labels come from an operator's file.
  const out = Object.create(null) as Record<string, readonly string[]>;
  for (const [label, texts] of Object.entries(parsed.data)) out[label] = Object.freeze([...texts]);
  return Object.freeze(out);
}

/** Reads an example-set file: `.json` as JSON, anything else as YAML. */
export async function loadExampleSets(path: string): Promise<ExampleSets> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ConfigError(`example set ${path} cannot be read`);
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch {
    throw new ConfigError(`example set ${path} is not valid ${extname(path) || 'YAML'}`);
  }
  return validateExampleSets(parsed, path);
}

const builtins = new Map<BuiltinExampleSetName, BuiltinExampleSet>();

/**
 * A shipped example set: `moderation` (OpenAI's top-level categories harassment, hate,
 * self-harm, sexual, violence, illicit, plus `safe`) or `prompt-injection` (`injection` vs
 * `benign`).
 */
export function builtinExampleSet(name: BuiltinExampleSetName): BuiltinExampleSet {
  let set = builtins.get(name);
  if (set === undefined) {
    set =
      name === 'moderation'
        ? { examples: validateExampleSets(moderation, name), fallbackLabel: 'safe' }
        : { examples: validateExampleSets(promptInjection, name), fallbackLabel: 'benign' };
    builtins.set(name, set);
  }
  return set;
}
