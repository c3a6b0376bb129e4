/**
 * @module inference/classifier-examples — labelled example sets for few-shot classifiers: the
 * built-in ones (moderation, prompt injection) and operator files in JSON or YAML, all of the
 * shape `{ label: [example, …] }`, validated the same way.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
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

/**
 * Checks that `value` is `{ label: string[] }` with 2–64 labels, 1–1000 non-blank examples of
 * at most 2000 characters each; returns a frozen null-prototype copy. Throws ConfigError naming
 * `source` and the offending label.
 */
export function validateExampleSets(value: unknown, source: string): ExampleSets {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${source}: expected a mapping of label to a list of examples`);
  }
  const entries = Object.entries(value);
  if (entries.length < 2 || entries.length > MAX_LABELS) {
    throw new ConfigError(`${source}: expected 2 to ${MAX_LABELS} labels, got ${entries.length}`);
  }
  const out = Object.create(null) as Record<string, readonly string[]>;
  for (const [label, examples] of entries) {
    if (!LABEL.test(label)) {
      throw new ConfigError(`${source}: label "${label}" must match ${LABEL.source}`);
    }
    if (
      !Array.isArray(examples) ||
      examples.length === 0 ||
      examples.length > MAX_EXAMPLES_PER_LABEL
    ) {
      throw new ConfigError(
        `${source}: label "${label}" needs a list of 1 to ${MAX_EXAMPLES_PER_LABEL} examples`,
      );
    }
    const texts = examples.map((example: unknown, i) => {
      if (
        typeof example !== 'string' ||
        example.trim() === '' ||
        example.length > MAX_EXAMPLE_CHARS
      ) {
        throw new ConfigError(
          `${source}: ${label}[${i}] must be a non-blank string of at most ${MAX_EXAMPLE_CHARS} characters`,
        );
      }
      return example;
    });
    out[label] = Object.freeze(texts);
  }
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
